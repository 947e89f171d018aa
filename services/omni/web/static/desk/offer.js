// An offer: the screen pop (who the customer is, their open tickets, last agent, history and
// routing's reasons) with a countdown, before the agent accepts or rejects.
import {enumName, h, replace, time} from "./dom.js";
import {stateName, t} from "./i18n.js";

export class OmniOffer extends HTMLElement {
  /** offer: routing's Offer as JSON; context: tickets' CustomerContext (or null while loading). */
  show(offer, context, {onAccept, onReject}) {
    this.offer = offer;
    this.context = context;
    this.handlers = {onAccept, onReject};
    this.render();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 1000);
  }

  disconnectedCallback() { clearInterval(this.timer); }

  remaining() {
    const expires = Date.parse(this.offer.expire_time);
    return Number.isNaN(expires) ? 0 : Math.max(0, Math.round((expires - Date.now()) / 1000));
  }

  tick() {
    const countdown = this.querySelector(".countdown");
    if (countdown) countdown.textContent = t("expiresIn", this.remaining());
  }

  render() {
    const {work, screen_pop: pop} = this.offer;
    // Routing's screen pop first; what tickets told the desk fills what routing could not.
    const known = this.context?.customer ?? {};
    const customerName = pop.display_name || known.display_name || work.customer?.display_name || t("unknownCustomer");
    const tier = pop.tier || known.tier;
    const tags = pop.tags.length ? pop.tags : (known.tags ?? []);
    const lastAgent = pop.last_agent_id || this.context?.last_agent_id || known.last_agent_id;
    const history = pop.recent_interactions.length ? pop.recent_interactions : (this.context?.recent_interactions ?? []);
    const tickets = this.context?.open_tickets ?? [];
    const headingId = `offer-${this.offer.id.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
    this.setAttribute("role", "region");
    this.setAttribute("aria-labelledby", headingId);
    replace(this,
      h("header", {class: "offer-head"},
        h("h3", {id: headingId}, `${t("offer")}: ${enumName(work.channel, "CHANNEL_")}`),
        // A call offered to the agent is ringing at their desk until they accept or it times out.
        work.channel === "CHANNEL_PHONE" ? h("span", {class: "ringing"}, stateName("SESSION_STATE_OFFERED", work.channel)) : null,
        h("span", {class: "countdown", role: "timer", "aria-live": "off"}, t("expiresIn", this.remaining()))),
      h("dl", {class: "screen-pop"},
        h("dt", {}, t("customer")),
        h("dd", {class: "customer-name"}, customerName,
          tier === "vip" || work.vip ? h("span", {class: "badge vip"}, t("vip")) : null),
        h("dt", {}, t("languageOf")), h("dd", {}, pop.language || known.language || work.language || t("none")),
        h("dt", {}, t("tags")), h("dd", {class: "tags"}, tags.length ? tags.map((tag) => h("span", {class: "badge"}, tag)) : t("none")),
        h("dt", {}, t("openTickets")),
        h("dd", {class: "open-tickets"}, tickets.length
          ? h("ul", {}, tickets.map((ticket) => h("li", {}, `${ticket.id}: `, ticket.subject)))
          : (pop.open_ticket_ids.length ? pop.open_ticket_ids.join(", ") : t("none"))),
        h("dt", {}, t("lastAgent")), h("dd", {class: "last-agent"}, lastAgent || t("none")),
        // A callback: accepting it makes the platform dial this number for the agent.
        work.callback_number ? [h("dt", {}, t("callBack")), h("dd", {class: "callback"}, work.callback_number,
          work.callback_number_verified ? null : h("span", {class: "badge unverified"}, t("unverified")),
          ` (${t("callBackNote")})`)] : null,
        // A follow-up an agent scheduled: what it is about, when it was due, for whom.
        work.follow_up ? [h("dt", {}, t("followUp")), h("dd", {class: "follow-up"},
          t("followUpDue", enumName(work.channel, "CHANNEL_"), new Date(work.follow_up.due_time).toLocaleString(),
            work.follow_up.scheduled_by))] : null,
        h("dt", {}, work.follow_up ? t("followUpNote") : t("says")), h("dd", {class: "first-words"}, work.text || "—"),
        h("dt", {}, t("reasons")),
        h("dd", {}, h("ul", {class: "reasons"}, work.reasons.map((r) => h("li", {}, h("code", {}, r.code), r.detail ? ` ${r.detail}` : "")))),
        h("dt", {}, t("history")),
        h("dd", {}, history.length
          ? h("ul", {class: "history"}, history.map((i) => h("li", {},
            `${time(i.occurred_at)} ${enumName(i.channel, "CHANNEL_")}: `, i.text || i.email?.subject || "")))
          : t("none")),
        pop.degraded.length && !this.context ? [h("dt", {}, t("degraded")), h("dd", {}, pop.degraded.join("; "))] : null),
      h("div", {class: "actions"},
        h("button", {class: "primary", type: "button", onclick: () => this.handlers.onAccept(this.offer)}, t("accept")),
        h("button", {type: "button", onclick: () => this.handlers.onReject(this.offer)}, t("reject"))));
  }
}

customElements.define("omni-offer", OmniOffer);
