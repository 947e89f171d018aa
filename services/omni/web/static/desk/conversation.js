// One piece of work the agent holds: the live session (chat, email or call) with the customer's
// words, internal notes, knowledge suggestions for the latest customer turn, reply, transfer and
// wrap-up.
import {enumName, h, replace, time} from "./dom.js";
import {stateName, t} from "./i18n.js";

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const DISPOSITIONS = ["resolved", "follow_up", "escalated", "no_answer"];
// What a follow-up does (docs/outbound.md, "Follow-ups").
const FOLLOW_UP_CHANNELS = ["call", "email", "sms"];
// Routing's transfer reason codes (TransferReason); "other" needs the free-text reason.
const TRANSFER_REASONS = ["wrong_queue", "needs_skill", "language", "escalation", "customer_request",
  "accessibility", "other"];

export class OmniConversation extends HTMLElement {
  /** work: routing's WorkItem JSON; desk: {api, queues, wrapUp(work, disposition, note, summary), transferred(work)}. */
  open(work, desk) {
    this.work = work;
    this.desk = desk;
    this.session = null;
    this.entries = new Map();
    this.suggestions = [];
    this.draft = "";
    this.summary = "";
    // What the agent chose and wrote at wrap-up so far: kept when the conversation is drawn again.
    this.wrapDisposition = DISPOSITIONS[0];
    this.wrapNote = "";
    this.lastTyping = 0;
    this.render();
    this.watch();
  }

  // The desk re-renders around its conversations: a conversation moved in the page watches again
  // (the snapshot that opens every watch brings it up to date).
  connectedCallback() { if (this.work) this.watch(); }

  disconnectedCallback() {
    this.socket?.close();
    this.socket = null;
    clearTimeout(this.typingTimer);
  }

  watch() {
    if (this.socket || !this.isConnected) return;
    // The work named: while routing says it is this agent's, the gateway waits out sessions hearing of it.
    this.socket = this.desk.api.live(
      `/api/sessions/${encodeURIComponent(this.work.session_id)}/watch?work=${encodeURIComponent(this.work.id)}`,
      (frame) => this.onFrame(frame), (state, reason) => this.onSocket(state, reason), {endsWhenDone: true});
  }

  onSocket(state, reason) {
    this.status = state === "reconnecting" ? t("reconnecting") : state === "refused" ? reason : "";
    const line = this.querySelector(".connection");
    if (line) line.textContent = this.status;
  }

  onFrame(frame) {
    if (frame.update) this.onUpdate(frame.update);
    else if (frame.suggestions) {
      this.suggestions = frame.suggestions;
      this.renderSuggestions();
    } else if (frame.error) this.onSocket("refused", frame.error);
  }

  onUpdate(update) {
    this.session = update.session;
    // An email's ticket may be named only after the first update (tickets threads it from an event).
    if (this.subject === undefined) this.loadSubject();
    if (update.kind === "snapshot") {
      this.entries.clear();
      for (const message of update.session.messages) this.entries.set(message.id, {message});
      for (const note of update.session.notes) this.entries.set(note.id, {note});
      this.refresh();
    } else if (update.kind === "message") {
      this.entries.set(update.message.id, {message: update.message});
      this.renderCopies();
      if (update.message.direction === "DIRECTION_INBOUND") {
        this.showTyping(false);
        this.markRead(update.message.id);
      }
      this.renderTranscript();
    } else if (update.kind === "note") {
      this.entries.set(update.note.id, {note: update.note});
      this.renderTranscript();
    } else if (update.kind === "typing" && update.message.direction === "DIRECTION_INBOUND") {
      this.showTyping(true);
    } else if (update.kind === "read" && update.message.direction === "DIRECTION_INBOUND") {
      // The customer has read up to this reply of ours.
      const entry = this.entries.get(update.message.id);
      if (entry) entry.read = true;
      this.renderTranscript();
    } else if (update.kind === "state") {
      this.renderState();
    }
  }

  // An email's subject lives on its ticket (the session keeps the thread's messages), and so do
  // the subject lines of each mail (its interaction has the message's id).
  async loadSubject() {
    const ticketId = this.session?.ticket_id;
    if (this.channel() !== "email" || !ticketId || this.subject !== undefined) return;
    this.subject = "";
    let ticket;
    try {
      ticket = await this.desk.api.get(`/api/tickets/${encodeURIComponent(ticketId)}`);
    } catch {
      return;  // no subject line is better than no conversation
    }
    this.subject = ticket.subject;
    this.mailSubjects = new Map(ticket.interactions.map((i) => [i.id, i.email?.subject ?? ""]));
    const line = this.querySelector(".email-subject");
    if (line) line.textContent = this.subject;
    const box = this.querySelector(".reply textarea");
    if (box && !this.draft) box.value = this.quoted();
  }

  // The customer sees "read" once the agent has had the message on screen.
  markRead(messageId) {
    if (this.hidden || this.channel() !== "chat") return;
    this.desk.api.post(`/api/sessions/${encodeURIComponent(this.work.session_id)}/read`, {message_id: messageId})
      .catch(() => {});
  }

  showTyping(on) {
    const line = this.querySelector(".typing");
    if (!line) return;
    line.textContent = on ? t("customerTyping") : "";
    clearTimeout(this.typingTimer);
    if (on) this.typingTimer = setTimeout(() => this.showTyping(false), TYPING_SHOWN_MS);
  }

  channel() { return enumName(this.work.channel, "CHANNEL_"); }

  customerName() {
    return this.session?.customer?.display_name || this.work.customer?.display_name || t("customer");
  }

  render() {
    const session = this.session;
    const customer = this.customerName();
    const headingId = `conversation-${this.work.id.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
    this.setAttribute("aria-labelledby", headingId);
    replace(this,
      h("header", {class: "conversation-head"},
        h("h2", {id: headingId}, h("span", {class: "customer-name"}, customer), ` · ${this.channel()}`),
        h("span", {class: "session-state"}, this.stateNow()),
        h("span", {class: "connection", role: "status"}, this.status || "")),
      this.channel() === "phone" ? this.callDetails() : null,
      this.channel() === "email" ? h("p", {class: "email-line"}, `${t("subject")}: `,
        h("span", {class: "email-subject"}, this.subject || "")) : null,
      h("section", {class: "transcript-area", "aria-label": t("transcript")},
        h("div", {role: "log", "aria-live": "polite", "aria-label": t("transcript")}, h("ol", {class: "transcript"})),
        h("p", {class: "typing", "aria-live": "polite"})),
      h("section", {class: "suggestions", "aria-label": t("suggestions")}, h("h3", {}, t("suggestions")), h("ul", {})),
      this.replyForm(),
      this.noteForm(),
      this.transferForm(),
      this.followUpForm(),
      this.wrapUpForm());
    this.renderTranscript();
    this.renderSuggestions();
    this.renderCopies();
  }

  // What the session's record shows, brought up to date in place: the forms are left as they are,
  // so whatever the agent is typing keeps its text and its focus.
  refresh() {
    for (const name of this.querySelectorAll(".customer-name")) name.textContent = this.customerName();
    this.renderState();
    this.renderTranscript();
    this.renderCopies();
    const box = this.querySelector(".reply textarea");
    if (box && !this.draft && !box.value) box.value = this.quoted();
  }

  stateNow() {
    return this.session ? stateName(this.session.state, this.session.channel) : "";
  }

  // A state change (a call answered, ended; a transfer) shows in the heading and the call's steps.
  renderState() {
    for (const state of this.querySelectorAll(".session-state")) state.textContent = this.stateNow();
    this.querySelector(".call")?.replaceWith(this.callDetails());
  }

  callDetails() {
    const attributes = this.session?.attributes ?? {};
    const rows = Object.entries(attributes).map(([key, value]) => [h("dt", {}, key), h("dd", {}, value)]);
    const channel = this.session?.channel;
    return h("section", {class: "call", "aria-label": t("phoneCall")},
      h("h3", {}, t("phoneCall")),
      h("p", {}, `${t("state")}: `, h("span", {class: "session-state", role: "status"}, this.stateNow())),
      h("ol", {class: "call-states"}, (this.session?.transitions ?? []).map((step) =>
        h("li", {}, h("time", {datetime: step.time}, time(step.time)), ` ${stateName(step.state, channel)} — `, step.reason))),
      rows.length ? h("dl", {class: "attributes"}, rows) : null);
  }

  renderTranscript() {
    const list = this.querySelector(".transcript");
    if (!list) return;
    const sorted = [...this.entries.values()].sort((a, b) =>
      Date.parse(a.message?.time ?? a.note.create_time) - Date.parse(b.message?.time ?? b.note.create_time));
    replace(list, sorted.map((entry) => entry.message ? this.messageItem(entry) : this.noteItem(entry.note)));
    list.scrollTop = list.scrollHeight;
  }

  messageItem(entry) {
    const message = entry.message;
    const inbound = message.direction === "DIRECTION_INBOUND";
    return h("li", {class: inbound ? "message inbound" : "message outbound", dataset: {id: message.id}},
      h("span", {class: "who"}, inbound ? this.customerName() : message.sender),
      h("time", {datetime: message.time}, time(message.time)),
      h("p", {class: "text"}, message.text),
      entry.read ? h("span", {class: "read"}, t("read")) : null,
      message.delivery ? h("span", {class: `delivery ${message.delivery}`, role: "status"}, t(`delivery_${message.delivery}`))
        : null,
      message.attachments.length ? h("ul", {class: "attachments", "aria-label": t("attachments")},
        message.attachments.map((a) => h("li", {}, h("a", {
          href: `/api/sessions/${encodeURIComponent(this.work.session_id)}/attachments/${encodeURIComponent(a.attachment_id)}`,
          download: a.filename}, `${t("download")} ${a.filename}`), ` (${a.size_bytes} B)`))) : null);
  }

  noteItem(note) {
    return h("li", {class: "note", dataset: {id: note.id}},
      h("span", {class: "badge"}, t(note.kind === "SESSION_NOTE_KIND_WHISPER" ? "whisperBadge" : "noteBadge")),
      h("span", {class: "who"}, note.author_id),
      h("time", {datetime: note.create_time}, time(note.create_time)), h("p", {class: "text"}, note.text));
  }

  renderSuggestions() {
    const list = this.querySelector(".suggestions ul");
    if (!list) return;
    replace(list, this.suggestions.length ? this.suggestions.map((s) => h("li", {},
      h("span", {class: "title"}, s.title),
      h("button", {type: "button", "aria-label": `${t("insert")}: ${s.title}`, onclick: () => this.insert(s.article_id)}, t("insert"))))
      : h("li", {class: "empty"}, t("noSuggestions")));
  }

  async insert(articleId) {
    let article;
    try {
      article = await this.desk.api.get(`/api/articles/${encodeURIComponent(articleId)}`);
    } catch (error) {
      this.desk.alert(error.message);
      return;
    }
    const box = this.querySelector(".reply textarea");
    box.value = box.value ? `${box.value}\n${article.body}` : article.body;
    this.draft = box.value;
    box.focus();
  }

  // The customer's last mail below the answer, as mail clients quote: its body, without the
  // subject line sessions puts first in the message's text.
  quoted() {
    if (this.channel() !== "email") return "";
    const last = [...this.entries.values()].filter((e) => e.message?.direction === "DIRECTION_INBOUND").at(-1);
    if (!last) return "";
    const subject = this.mailSubjects?.get(last.message.id);
    const text = subject && last.message.text.startsWith(`${subject}\n\n`)
      ? last.message.text.slice(subject.length + 2) : last.message.text;
    return `\n\n> ${text.split("\n").join("\n> ")}`;
  }

  replyForm() {
    const box = h("textarea", {id: `reply-${this.work.id}`, rows: 3, required: true,
      oninput: () => { this.draft = box.value; this.typing(); }});
    box.value = this.draft || this.quoted();
    const copies = h("fieldset", {class: "copies", hidden: true});
    return h("form", {class: "reply", onsubmit: (event) => this.submit(event, async () => {
      const cc = [...copies.querySelectorAll("input:checked")].map((tick) => tick.value);
      await this.desk.api.post(`/api/sessions/${encodeURIComponent(this.work.session_id)}/replies`,
        {text: box.value, request_id: crypto.randomUUID(), cc});
      box.value = this.draft = "";
      for (const tick of copies.querySelectorAll("input")) tick.checked = false;
    })},
    h("label", {for: box.id}, t("reply")), box, copies, h("button", {class: "primary", type: "submit"}, t("send")));
  }

  // Email: the reply goes to the customer; others who wrote into the conversation (sessions names
  // them) are copied only when the agent ticks them. Ticks survive a new mail arriving.
  renderCopies() {
    const copies = this.querySelector(".reply .copies");
    if (!copies) return;
    const people = this.channel() === "email" ? this.session?.mail_participants ?? [] : [];
    const ticked = new Set([...copies.querySelectorAll("input:checked")].map((tick) => tick.value));
    replace(copies, h("legend", {}, t("copyTo")), people.map((address, i) => {
      const id = `copy-${this.work.id}-${i}`;
      return h("span", {class: "copy"},
        h("input", {type: "checkbox", id, value: address, checked: ticked.has(address)}),
        h("label", {for: id}, address));
    }));
    copies.hidden = people.length === 0;
  }

  typing() {
    if (this.channel() !== "chat" || Date.now() - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = Date.now();
    this.desk.api.post(`/api/sessions/${encodeURIComponent(this.work.session_id)}/typing`).catch(() => {});
  }

  noteForm() {
    const box = h("textarea", {id: `note-${this.work.id}`, rows: 2, required: true});
    return h("form", {class: "note-form", onsubmit: (event) => this.submit(event, async () => {
      await this.desk.api.post(`/api/sessions/${encodeURIComponent(this.work.session_id)}/notes`,
        {text: box.value, request_id: crypto.randomUUID()});
      box.value = "";
    })}, h("label", {for: box.id}, t("note")), box, h("button", {type: "submit"}, t("addNote")));
  }

  transferForm() {
    const queue = h("select", {id: `transfer-queue-${this.work.id}`},
      this.desk.queues.map((q) => h("option", {value: q.id}, q.display_name || q.id)));
    const code = h("select", {id: `transfer-code-${this.work.id}`},
      TRANSFER_REASONS.map((value) => h("option", {value}, t(`transferReason_${value}`))));
    const reason = h("input", {id: `transfer-reason-${this.work.id}`, maxlength: 500});
    return h("form", {class: "transfer", onsubmit: (event) => this.submit(event, async () => {
      const moved = await this.desk.api.post(`/api/work/${encodeURIComponent(this.work.id)}/transfer`,
        {queue_id: queue.value, reason_code: code.value, reason: reason.value});
      this.desk.transferred(this.work, moved.warning);
    })},
    h("fieldset", {}, h("legend", {}, t("transfer")),
      h("label", {for: queue.id}, t("transferTo")), queue,
      h("label", {for: code.id}, t("transferCode")), code,
      h("label", {for: reason.id}, t("transferReason")), reason,
      h("button", {type: "submit"}, t("transfer"))));
  }

  // A follow-up of this contact: a call, email or SMS at a time, for the agent (their group after
  // a grace period) or for one of their groups from the start. Routing refuses a time in the past
  // or too far ahead, and says so.
  followUpForm() {
    const id = this.work.id;
    const channel = h("select", {id: `follow-up-channel-${id}`},
      FOLLOW_UP_CHANNELS.map((value) => h("option", {value}, t(`followUpBy_${value}`))));
    const due = h("input", {id: `follow-up-due-${id}`, type: "datetime-local", step: 1, required: true});
    const whom = h("select", {id: `follow-up-for-${id}`}, h("option", {value: ""}, t("followUpForMe")),
      (this.desk.me?.groups ?? []).map((group) => h("option", {value: group}, t("followUpForGroup", group))));
    const note = h("input", {id: `follow-up-note-${id}`, maxlength: 500});
    const scheduled = h("p", {class: "follow-up-status", role: "status"});
    return h("form", {class: "follow-up", onsubmit: (event) => this.submit(event, async () => {
      const when = new Date(due.value);  // the agent's local time
      if (Number.isNaN(when.getTime())) throw new Error(t("followUpWhenMissing"));
      const made = await this.desk.api.post(`/api/work/${encodeURIComponent(id)}/follow-up`, {
        channel: channel.value, due: when.toISOString(), group: whom.value, note: note.value,
        request_id: crypto.randomUUID()});
      scheduled.textContent = t("followUpScheduled", t(`followUpBy_${channel.value}`),
        new Date(made.follow_up.due_time).toLocaleString());
      note.value = "";
      this.desk.alert("");  // a refusal shown before is answered now
    })},
    h("fieldset", {}, h("legend", {}, t("followUp")),
      h("label", {for: channel.id}, t("followUpChannel")), channel,
      h("label", {for: due.id}, t("followUpWhen")), due,
      h("label", {for: whom.id}, t("followUpFor")), whom,
      h("label", {for: note.id}, t("followUpNote")), note,
      h("button", {type: "submit"}, t("followUpSchedule"))), scheduled);
  }

  wrapUpForm() {
    const disposition = h("select", {id: `disposition-${this.work.id}`,
      onchange: () => { this.wrapDisposition = disposition.value; }},
      DISPOSITIONS.map((d) => h("option", {value: d}, t(d))));
    disposition.value = this.wrapDisposition;
    const note = h("input", {id: `wrap-note-${this.work.id}`, maxlength: 7700,
      oninput: () => { this.wrapNote = note.value; }});
    note.value = this.wrapNote;
    // The draft comes from sessions (sentences of the transcript); the agent edits it, and what is
    // in the box at wrap-up is kept on the conversation (and so on the ticket's timeline).
    const summary = h("textarea", {id: `wrap-summary-${this.work.id}`, class: "wrap-summary", rows: 4,
      maxlength: 8000, oninput: () => { this.summary = summary.value; }});
    summary.value = this.summary;
    const draft = h("button", {type: "button", class: "draft-summary", onclick: async () => {
      draft.disabled = true;
      try {
        const made = await this.desk.api.get(`/api/sessions/${encodeURIComponent(this.work.session_id)}/summary`);
        summary.value = this.summary = made.text || "";
      } catch (error) {
        this.desk.alert(error.message);
      } finally {
        draft.disabled = false;
      }
    }}, t("draftSummary"));
    return h("form", {class: "wrap-up", onsubmit: (event) => this.submit(event, async () => {
      this.desk.wrapUp(this.work, disposition.value, note.value, summary.value);
    })},
    h("fieldset", {}, h("legend", {}, t("wrapUp")),
      h("label", {for: disposition.id}, t("disposition")), disposition,
      h("label", {for: note.id}, t("wrapNote")), note,
      h("label", {for: summary.id}, t("summary")), summary, draft,
      h("button", {type: "submit"}, t("finish"))));
  }

  async submit(event, action) {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      this.desk.alert(error.message);
    } finally {
      button.disabled = false;
    }
  }
}

customElements.define("omni-conversation", OmniConversation);
