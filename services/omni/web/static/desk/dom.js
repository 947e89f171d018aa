// Building DOM without HTML strings: every text a customer, agent or service wrote becomes a
// Text node (textContent), so markup in it is shown, never run.

/**
 * h("button", {class: "primary", onclick: fn, "aria-label": "Accept"}, "Accept", child)
 * Attributes starting with "on" are listeners; strings and numbers among the children become text.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

export function time(value) {
  if (!value) return "";
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
}

// "CHANNEL_CHAT" -> "chat": the enum names the gateway passes through from the services.
export function enumName(value, prefix) {
  return String(value || "").replace(prefix, "").toLowerCase();
}
