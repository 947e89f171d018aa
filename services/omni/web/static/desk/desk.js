// The agent desk: sign-in, presence, offers with the screen pop, the work in hand, tickets.
import {Api} from "./api.js";
import {enumName, h, replace} from "./dom.js";
import {language, switchLanguage, t} from "./i18n.js";
import "./conversation.js";
import "./offer.js";
import "./tickets.js";

const UNAUTHENTICATED = 401;
const LOOKUP_KINDS = {IDENTITY_KIND_EMAIL: "email", IDENTITY_KIND_PHONE: "phone"};
// What an agent sets themselves to.
const PRESENCE = ["available", "break", "offline"];

// Who to ask tickets about for the screen pop: the customer routing named, else the contact's
// email or phone (a chat's first identity is the widget's anonymous handle, which finds no one).
function customerQuery(offer) {
  const id = offer.screen_pop.customer_id || offer.work.customer?.customer_id;
  if (id) return `customer_id=${encodeURIComponent(id)}`;
  const identity = (offer.work.customer?.identities ?? []).find((i) => LOOKUP_KINDS[i.kind]);
  return identity ? `${LOOKUP_KINDS[identity.kind]}=${encodeURIComponent(identity.value)}` : "";
}

class OmniDesk extends HTMLElement {
  async connectedCallback() {
    this.api = new Api();
    this.offers = new Map();
    this.work = new Map();
    this.conversations = new Map();
    this.selected = "";
    this.view = "work";
    this.queues = [];
    try {
      this.me = await this.api.get("/api/me");
    } catch (error) {
      if (error.status === UNAUTHENTICATED) this.renderSignIn();
      else this.renderSignIn(error.message);
      return;
    }
    await this.start();
  }

  // Signing in: the token from the company's identity provider (dev stack: `make run` prints one).
  renderSignIn(problem = "") {
    document.title = t("title");
    const token = h("textarea", {id: "token", rows: 4, required: true, autocomplete: "off", spellcheck: "false"});
    replace(this, h("main", {class: "signin"},
      h("h1", {}, t("title")),
      h("form", {onsubmit: async (event) => {
        event.preventDefault();
        try {
          this.me = await this.api.post("/api/signin", {token: token.value.trim()});
        } catch (error) {
          this.renderSignIn(error.message);
          return;
        }
        await this.start();
      }},
      h("h2", {}, t("signInTitle")),
      h("p", {id: "signin-help"}, t("signInHelp")),
      h("label", {for: "token"}, t("token")), token,
      problem ? h("p", {class: "problem", role: "alert"}, problem) : null,
      h("button", {class: "primary", type: "submit", "aria-describedby": "signin-help"}, t("signIn"))),
      h("button", {type: "button", class: "link", onclick: () => { switchLanguage(); this.renderSignIn(problem); }},
        t("language"))));
    token.focus();
  }

  async start() {
    this.api.csrf = this.me.csrf;
    this.render();
    this.stream = this.api.live("/api/desk", (frame) => this.onEvent(frame), (state, reason) => {
      if (state === "refused") this.alert(reason);
      else this.alert(state === "reconnecting" ? t("reconnecting") : "");
    });
    this.queues = await this.api.get("/api/queues").catch(() => []);
  }

  onEvent(frame) {
    if (frame.agent) {
      this.agent = frame.agent;
      this.renderPresence();
    } else if (frame.offer) {
      const entry = {offer: frame.offer, context: null};
      this.offers.set(frame.offer.id, entry);
      const query = customerQuery(frame.offer);
      if (query) {
        this.api.get(`/api/customer-context?${query}`).then((context) => {
          entry.context = context;
          this.renderOffers();
        }).catch(() => {});  // a new customer has no context: the screen pop shows what routing sent
      }
      this.renderOffers();
    } else if (frame.offer_revoked) {
      this.offers.delete(frame.offer_revoked);
      this.renderOffers();
    } else if (frame.assigned && frame.assigned.state !== "WORK_STATE_ASSIGNED") {
      // Work that left this agent (a callback whose call went unanswered waits for its next call).
      this.work.delete(frame.assigned.id);
      if (this.selected === frame.assigned.id) this.selected = null;
      this.renderWork();
    } else if (frame.assigned) {
      const work = frame.assigned;
      for (const [id, entry] of this.offers) {
        if (entry.offer.work.id !== work.id) continue;
        // The name the screen pop found, for the work list and the conversation's heading.
        const name = entry.offer.screen_pop.display_name || entry.context?.customer?.display_name;
        if (name && !work.customer?.display_name) work.customer = {...work.customer, display_name: name};
        this.offers.delete(id);
      }
      this.work.set(work.id, work);
      if (!this.selected) this.selected = work.id;
      this.renderOffers();
      this.renderWork();
    } else if (frame.error) {
      this.alert(frame.error);
    }
  }

  alert(text) {
    const line = this.querySelector(".alert");
    if (line) line.textContent = text || "";
  }

  render() {
    document.title = t("title");
    const name = this.me.display_name || this.me.subject;
    replace(this,
      h("header", {class: "top"},
        h("h1", {}, t("title")),
        h("span", {class: "who"}, name),
        h("form", {class: "presence", "aria-label": t("presence")}),
        h("button", {type: "button", class: "link", "aria-label": t("languageLabel"), lang: language() === "zh" ? "en" : "zh",
          onclick: () => this.switchLanguage()}, t("language")),
        h("button", {type: "button", onclick: () => this.signOut()}, t("signOut"))),
      h("p", {class: "alert", role: "alert"}),
      h("nav", {"aria-label": t("title")},
        h("button", {type: "button", "aria-pressed": String(this.view === "work"), onclick: () => this.show("work")}, t("work")),
        h("button", {type: "button", "aria-pressed": String(this.view === "tickets"), onclick: () => this.show("tickets")}, t("tickets"))),
      h("div", {class: "layout"},
        h("aside", {"aria-label": t("work")},
          h("section", {class: "offers", "aria-label": t("offers")}, h("h2", {}, t("offers")), h("div", {class: "offer-list"})),
          h("section", {class: "work", "aria-label": t("work")}, h("h2", {}, t("work")), h("ul", {class: "work-list"}))),
        h("main", {class: "workspace"}, h("div", {class: "conversations"}), this.ticketsView())));
    for (const conversation of this.conversations.values()) {
      this.querySelector(".conversations").append(conversation);
    }
    this.renderPresence();
    this.renderOffers();
    this.renderWork();
  }

  ticketsView() {
    this.tickets ??= Object.assign(document.createElement("omni-tickets"), {});
    this.tickets.hidden = this.view !== "tickets";
    return this.tickets;
  }

  show(view) {
    this.view = view;
    for (const button of this.querySelectorAll("nav button")) {
      button.setAttribute("aria-pressed", String(button.textContent === t(view)));
    }
    this.tickets.hidden = view !== "tickets";
    if (view === "tickets") this.tickets.open(this.api, this);
    this.querySelector(".conversations").hidden = view !== "work";
  }

  switchLanguage() {
    switchLanguage();
    this.render();
    for (const conversation of this.conversations.values()) conversation.render();
    if (this.view === "tickets") this.tickets.render();
  }

  // Routing's word on the agent's presence; a choice the agent is still making is left alone
  // (routing sends the agent's state whenever it changes, e.g. right after sign-in).
  renderPresence() {
    const form = this.querySelector(".presence");
    if (!form) return;
    const status = enumName(this.agent?.status, "AGENT_STATUS_") || "offline";
    if (!form.elements.length) this.buildPresence(form);
    if (!this.choosingPresence) {
      // Busy and wrap-up follow from the work in hand: the choice shows what the agent last set.
      if (PRESENCE.includes(status)) form.elements.presence.value = status;
      form.elements["break-reason"].value = this.agent?.status_reason || "";
    }
    form.querySelector("output").textContent = t(status);
  }

  buildPresence(form) {
    const choice = h("select", {id: "presence", name: "presence", onchange: () => { this.choosingPresence = true; }},
      PRESENCE.map((s) => h("option", {value: s}, t(s))));
    const reason = h("input", {id: "break-reason", name: "break-reason", maxlength: 500, placeholder: t("breakReason"),
      "aria-label": t("breakReason"), oninput: () => { this.choosingPresence = true; }});
    form.onsubmit = (event) => {
      event.preventDefault();
      this.choosingPresence = false;
      this.stream.send({set_state: {status: choice.value, reason: choice.value === "break" ? reason.value : ""}});
    };
    replace(form, h("label", {for: "presence"}, t("presence")), choice, reason,
      h("button", {type: "submit"}, t("setPresence")),
      h("output", {class: "status", "aria-live": "polite"}));
  }

  renderOffers() {
    const list = this.querySelector(".offer-list");
    if (!list) return;
    replace(list, [...this.offers.values()].map(({offer, context}) => {
      const card = document.createElement("omni-offer");
      card.show(offer, context, {
        onAccept: (o) => this.stream.send({accept: {offer_id: o.id}}),
        onReject: (o) => { this.stream.send({reject: {offer_id: o.id, reason: "rejected at the desk"}}); },
      });
      return card;
    }));
  }

  renderWork() {
    const list = this.querySelector(".work-list");
    if (!list) return;
    if (!this.work.size) {
      replace(list, h("li", {class: "empty"}, t("noWork")));
    } else {
      replace(list, [...this.work.values()].map((work) => h("li", {},
        h("button", {type: "button", "aria-current": work.id === this.selected ? "true" : null,
          onclick: () => { this.selected = work.id; this.show("work"); this.renderWork(); }},
        work.customer?.display_name || work.session_id, ` · ${enumName(work.channel, "CHANNEL_")}`))));
    }
    for (const [id, work] of this.work) {
      if (!this.conversations.has(id)) {
        const conversation = document.createElement("omni-conversation");
        this.conversations.set(id, conversation);
        this.querySelector(".conversations").append(conversation);
        conversation.open(work, this);
      }
    }
    for (const [id, conversation] of this.conversations) conversation.hidden = id !== this.selected;
  }

  wrapUp(work, disposition, note) {
    this.stream.send({wrap_up: {work_id: work.id, disposition, note}});
    this.drop(work);
  }

  transferred(work, warning) {
    this.alert(warning || t("transferred"));
    this.drop(work);
  }

  drop(work) {
    this.work.delete(work.id);
    this.conversations.get(work.id)?.remove();
    this.conversations.delete(work.id);
    if (this.selected === work.id) this.selected = this.work.keys().next().value ?? "";
    this.renderWork();
  }

  async signOut() {
    this.stream?.close();
    await this.api.post("/api/signout").catch(() => {});
    location.reload();
  }
}

customElements.define("omni-desk", OmniDesk);
