// Tickets: find them by number, phone or email; one ticket's cross-channel timeline (its
// interactions and notes, and the state changes and internal notes of the conversations behind
// them: transfers with their reasons, wrap-ups, a call's steps); status, priority, assignee,
// merge and split.
import {enumName, h, replace, time} from "./dom.js";
import {stateName, t} from "./i18n.js";

const STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];

class OmniTickets extends HTMLElement {
  open(api, desk) {
    this.api = api;
    this.desk = desk;
    this.found ??= [];
    this.ticket ??= null;
    this.history ??= null;
    this.render();
  }

  // Shows what the list knows of the ticket at once, then the whole ticket with the history of
  // the conversations behind it.
  async showTicket(ticket) {
    this.ticket = ticket;
    this.history = null;
    this.render();
    if (!ticket) return;
    try {
      const timeline = await this.api.get(`/api/tickets/${encodeURIComponent(ticket.id)}/timeline`);
      if (this.ticket?.id !== ticket.id) return;
      this.ticket = timeline.ticket;
      this.history = timeline;
      this.render();
    } catch (error) {
      this.desk.alert(error.message);
    }
  }

  render() {
    if (!this.api) return;
    const query = h("input", {id: "ticket-search", type: "search", required: true, maxlength: 500, value: this.query || ""});
    replace(this,
      h("h2", {}, t("tickets")),
      h("form", {role: "search", class: "ticket-search", onsubmit: (event) => this.act(event, async () => {
        this.query = query.value;
        this.found = await this.api.get(`/api/tickets?q=${encodeURIComponent(query.value)}`);
        await this.showTicket(this.found.length === 1 ? this.found[0] : null);
      })}, h("label", {for: "ticket-search"}, t("searchLabel")), query, h("button", {type: "submit"}, t("search"))),
      h("ul", {class: "ticket-results"}, this.found.length ? this.found.map((ticket) => h("li", {},
        h("button", {type: "button", onclick: () => this.showTicket(ticket)},
          `${ticket.id} · ${enumName(ticket.status, "TICKET_STATUS_")} · `, ticket.subject)))
        : h("li", {class: "empty"}, t("noTickets"))),
      this.ticket ? this.detail(this.ticket) : null);
  }

  detail(ticket) {
    const status = h("select", {id: "ticket-status"}, STATUSES.map((s) =>
      h("option", {value: s, selected: enumName(ticket.status, "TICKET_STATUS_") === s}, s)));
    const priority = h("select", {id: "ticket-priority"}, PRIORITIES.map((p) =>
      h("option", {value: p, selected: enumName(ticket.priority, "TICKET_PRIORITY_") === p}, p)));
    const assignee = h("input", {id: "ticket-assignee", maxlength: 200, value: ticket.assignee_id});
    const target = h("input", {id: "merge-target", maxlength: 200, required: true});
    const sessions = this.history?.sessions ?? [];
    // A wrap-up from this desk leaves its note on the conversation, and tickets keeps the same
    // note from routing's wrap-up: shown once.
    const onTicket = new Set(ticket.notes.map((n) => `${n.author_id}\n${n.text}`));
    const sessionNotes = sessions.flatMap((s) => s.notes).filter((n) => !onTicket.has(`${n.author_id}\n${n.text}`));
    const events = [
      ...ticket.interactions.map((i) => ({when: i.occurred_at, node: h("li", {class: "interaction"},
        h("time", {datetime: i.occurred_at}, time(i.occurred_at)),
        h("span", {class: "badge"}, enumName(i.channel, "CHANNEL_")),
        i.agent_id ? h("span", {class: "who"}, i.agent_id) : null,
        h("label", {}, h("input", {type: "checkbox", value: i.id, class: "split-pick"}), " ",
          i.email?.subject ? h("strong", {class: "subject"}, i.email.subject) : null,
          h("span", {class: "text"}, i.text)))})),
      ...[...ticket.notes, ...sessionNotes].map((n) => ({when: n.create_time, node: h("li", {class: "note"},
        h("time", {datetime: n.create_time}, time(n.create_time)), h("span", {class: "badge"}, t("noteBadge")),
        h("span", {class: "who"}, n.author_id), h("span", {class: "text"}, n.text))})),
      ...sessions.flatMap((s) => s.transitions.filter((step) => shownStep(step, s.channel)).map((step) => ({
        when: step.time, node: h("li", {class: "state"},
          h("time", {datetime: step.time}, time(step.time)),
          h("span", {class: "badge"}, enumName(s.channel, "CHANNEL_")),
          h("span", {class: "state-name"}, stateName(step.state, s.channel)), step.reason ? ` — ${step.reason}` : "")}))),
    ].sort((a, b) => Date.parse(a.when) - Date.parse(b.when));
    return h("article", {class: "ticket", "aria-labelledby": "ticket-title"},
      h("h3", {id: "ticket-title"}, `${ticket.id}: `, h("span", {class: "subject"}, ticket.subject)),
      h("form", {class: "ticket-fields", onsubmit: (event) => this.act(event, async () => {
        // The version seen: a change someone made meanwhile is refused rather than overwritten.
        this.changed(await this.api.patch(`/api/tickets/${encodeURIComponent(ticket.id)}`,
          {version: Number(ticket.version), status: status.value, priority: priority.value}));
      })},
      h("label", {for: "ticket-status"}, t("status")), status,
      h("label", {for: "ticket-priority"}, t("priority")), priority,
      h("button", {type: "submit"}, t("save"))),
      h("form", {class: "ticket-assign", onsubmit: (event) => this.act(event, async () => {
        this.changed(await this.api.post(`/api/tickets/${encodeURIComponent(ticket.id)}/assign`, {assignee_id: assignee.value}));
      })}, h("label", {for: "ticket-assignee"}, t("assignee")), assignee, h("button", {type: "submit"}, t("assign"))),
      h("form", {class: "ticket-merge", onsubmit: (event) => this.act(event, async () => {
        this.changed(await this.api.post(`/api/tickets/${encodeURIComponent(ticket.id)}/merge`, {target_id: target.value}));
      })}, h("label", {for: "merge-target"}, t("mergeLabel")), target, h("button", {type: "submit"}, t("merge"))),
      h("h4", {}, t("timeline")),
      h("ol", {class: "timeline"}, events.map((e) => e.node)),
      this.history?.hidden ? h("p", {class: "hidden-sessions"}, t("hiddenSessions", this.history.hidden)) : null,
      h("button", {type: "button", onclick: () => this.split(ticket)}, t("split")));
  }

  async split(ticket) {
    const picked = [...this.querySelectorAll(".split-pick:checked")].map((box) => box.value);
    if (!picked.length) return;
    try {
      const result = await this.api.post(`/api/tickets/${encodeURIComponent(ticket.id)}/split`,
        {interaction_ids: picked, subject: ""});
      this.found = [result.original, result.created];
      await this.showTicket(result.created);
    } catch (error) {
      this.desk.alert(error.message);
    }
  }

  // A changed ticket replaces its old self among the results too.
  changed(ticket) {
    this.found = this.found.map((found) => found.id === ticket.id ? ticket : found);
    this.showTicket(ticket);
  }

  async act(event, action) {
    event.preventDefault();
    try {
      await action();
    } catch (error) {
      this.desk.alert(error.message);
    }
  }
}

// A conversation's steps worth a line on the timeline: an offer is routing's attempt, not a step,
// except a call's (its phone rang); chats and emails pass no IVR.
function shownStep(step, channel) {
  const phone = channel === "CHANNEL_PHONE";
  return phone || !["SESSION_STATE_OFFERED", "SESSION_STATE_IVR"].includes(step.state);
}

customElements.define("omni-tickets", OmniTickets);
