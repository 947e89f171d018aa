// The customer chat widget: one <script src=".../widget/widget.js" defer> on any website.
//
// It renders a launcher and a chat window inside a shadow root (the host page's CSS stays out),
// talks to the gateway's /widget/chat socket (the gateway relays to the sessions service), and
// keeps the chat's session token in localStorage so a reload or another page of the same site
// resumes the conversation. Messages carry a client_message_id and are re-sent after a
// reconnect until the chat echoes them: the service drops the repeats, so nothing is sent twice.
// Every text is rendered with textContent, never as HTML.
//
// Host page API: window.OmniChat.identify(token) passes the company's signed identity token of a
// signed-in customer (or data-identity-token on the script tag); anonymous visitors need nothing.
(() => {
  "use strict";
  const script = document.currentScript;
  const gateway = new URL(script.src, location.href);
  const CHAT_URL = `${gateway.protocol === "https:" ? "wss:" : "ws:"}//${gateway.host}/widget/chat`;
  const KEY = `omni-chat:${gateway.host}`;
  const SURVEY_SCRIPT = new URL("survey.js", gateway).href;
  const TYPING_EVERY_MS = 3000;
  const AGENT_TYPING_SHOWN_MS = 5000;
  const MAX_BACKOFF_MS = 30000;
  const ENDED = new Set(["SESSION_STATE_WRAP_UP", "SESSION_STATE_ENDED", "SESSION_STATE_ABANDONED"]);

  const WORDS = {
    en: {
      open: "Chat with us", close: "Close chat", title: "Customer service", placeholder: "Type your message",
      label: "Your message", send: "Send", end: "End chat", language: "中文", languageLabel: "切换到中文",
      connecting: "Connecting…", reconnecting: "Connection lost, reconnecting…",
      welcome: "Hello! Write your question and we will connect you.",
      waiting: "Waiting for an agent…",
      position: (n, wait) => `You are number ${n} in the queue` + (wait ? `, about ${wait} to wait.` : "."),
      longWait: "The wait is over a minute; you can keep this page open or come back later: the chat stays here.",
      callback: "Call me back instead",
      callbackBooked: (number) => `We will call you back at ${number}, keeping your place in the queue; you may close this page.`,
      callbackAt: (number, when) => `We will call you at ${number}, ${when}; you may close this page.`,
      keepPlace: "Keep my place in line", chooseTime: "Or choose a time for our call:",
      connected: (name) => `${name} is here to help you.`,
      agentTyping: (name) => `${name} is typing…`, agent: "Agent", you: "You", sending: "sending…", read: "Read",
      ended: "The chat has ended. Write again to start a new one.", minutes: (m) => `${m} min`, seconds: (s) => `${s} s`,
    },
    zh: {
      open: "在线客服", close: "关闭聊天", title: "客户服务", placeholder: "请输入您的问题",
      label: "您的消息", send: "发送", end: "结束会话", language: "English", languageLabel: "Switch to English",
      connecting: "正在连接…", reconnecting: "连接中断，正在重连…",
      welcome: "您好！请输入您的问题，我们马上为您服务。",
      waiting: "正在为您转接客服…",
      position: (n, wait) => `您前面还有 ${n - 1} 位，您排在第 ${n} 位` + (wait ? `，预计等待 ${wait}。` : "。"),
      longWait: "预计等待超过一分钟，您可以保持页面打开或稍后回来，会话会一直保留。",
      callback: "改为回电给我",
      callbackBooked: (number) => `我们将回电至 ${number}，为您保留排队位置；您可以关闭此页面。`,
      callbackAt: (number, when) => `我们将于 ${when} 回电至 ${number}；您可以关闭此页面。`,
      keepPlace: "保留我的排队位置", chooseTime: "或选择回电时间：",
      connected: (name) => `客服 ${name} 正在为您服务。`,
      agentTyping: (name) => `${name} 正在输入…`, agent: "客服", you: "您", sending: "发送中…", read: "已读",
      ended: "会话已结束。再次输入即可开始新的会话。", minutes: (m) => `${m} 分钟`, seconds: (s) => `${s} 秒`,
    },
  };

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; }
    .launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000; border: none; border-radius: 999px;
      background: #0b5cad; color: #fff; font-size: 16px; padding: 12px 18px; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .panel { position: fixed; right: 16px; bottom: 76px; z-index: 2147483000; width: min(380px, calc(100vw - 16px));
      height: min(560px, calc(100vh - 96px)); display: flex; flex-direction: column; background: #fff; color: #1d2530;
      border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden; font-size: 15px; }
    .panel[hidden] { display: none; }
    @media (max-width: 480px) { .panel { right: 8px; left: 8px; width: auto; bottom: 72px; } }
    header { display: flex; align-items: center; gap: 8px; background: #0b5cad; color: #fff; padding: 10px 12px; }
    header h2 { font-size: 16px; margin: 0 auto 0 0; }
    header button { background: none; border: 1px solid rgba(255,255,255,.7); color: #fff; border-radius: 6px;
      padding: 4px 8px; cursor: pointer; font-size: 13px; }
    .status { margin: 0; padding: 6px 12px; background: #f5f7fa; color: #4a5563; font-size: 13px; min-height: 1.6em; }
    .log { flex: 1; overflow-y: auto; }
    ol { list-style: none; margin: 0; padding: 10px 12px; display: flex; flex-direction: column; gap: 8px; }
    li { max-width: 85%; padding: 8px 10px; border-radius: 10px; line-height: 1.4; }
    li.mine { align-self: flex-end; background: #0b5cad; color: #fff; }
    li.theirs { align-self: flex-start; background: #eef3f9; }
    li.info { align-self: center; background: none; color: #4a5563; font-size: 13px; text-align: center; }
    .who { display: block; font-size: 12px; font-weight: 600; opacity: .9; }
    .text { white-space: pre-wrap; overflow-wrap: anywhere; }
    .meta { display: block; font-size: 11px; opacity: .85; text-align: right; }
    .typing { margin: 0; padding: 0 12px; min-height: 1.4em; font-size: 13px; color: #4a5563; font-style: italic; }
    form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #d4d9e0; }
    textarea { flex: 1; resize: none; border: 1px solid #8a94a3; border-radius: 8px; padding: 8px; font-size: 15px; min-width: 0; }
    form button { border: none; border-radius: 8px; background: #0b5cad; color: #fff; padding: 0 14px; font-size: 15px; cursor: pointer; }
    .callback { align-self: center; margin: 4px 0; border: 1px solid #0b5cad; border-radius: 999px; background: #fff;
      color: #0b5cad; padding: 6px 14px; cursor: pointer; font-size: 14px; }
    .callback[hidden], .callback-choice[hidden] { display: none; }
    .callback-choice { display: flex; flex-wrap: wrap; gap: 4px; justify-content: center; margin: 4px 0; }
    .callback-choice p { flex-basis: 100%; margin: 2px 0; text-align: center; font-size: 13px; }
    .end { align-self: center; margin: 0 0 6px; background: none; border: none; color: #0b5cad; text-decoration: underline;
      cursor: pointer; font-size: 13px; }
    button:focus-visible, textarea:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
    li.survey { align-self: stretch; max-width: 100%; background: #f5f7fa; }
    li.survey form { display: block; border: none; padding: 0; }
    li.survey h3 { font-size: 14px; margin: 0 0 6px; }
    fieldset.scale { border: none; margin: 0 0 8px; padding: 0; display: flex; flex-wrap: wrap; gap: 4px; font-size: 13px; }
    fieldset.scale label { padding: 2px 7px; border: 1px solid #8a94a3; border-radius: 6px; cursor: pointer; }
    li.survey button { border: none; border-radius: 8px; background: #0b5cad; color: #fff; padding: 6px 12px; cursor: pointer; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  `;

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function newId() {
    return crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  function waitText(duration, words) {
    const seconds = Math.round(parseFloat(duration || "0"));
    if (!seconds) return "";
    return seconds >= 60 ? words.minutes(Math.ceil(seconds / 60)) : words.seconds(seconds);
  }

  class ChatWidget {
    constructor() {
      this.saved = this.load();
      this.lang = this.saved.lang || script.dataset.lang ||
        ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
      this.identityToken = script.dataset.identityToken || "";
      this.socket = null;
      this.started = false;
      this.ended = false;
      this.failures = 0;
      this.lastTyping = 0;
      this.agentName = "";
      this.entries = [];
      this.build();
      if (this.saved.token) this.connect();  // a conversation is going on: resume it now
      if (this.saved.open) this.toggle(true);
    }

    load() {
      try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch { return {}; }
    }

    save(changes) {
      Object.assign(this.saved, changes);
      try { localStorage.setItem(KEY, JSON.stringify(this.saved)); } catch { /* storage full or blocked: chat still works */ }
    }

    get words() { return WORDS[this.lang]; }

    build() {
      const host = el("div", {id: "omni-chat-widget"});
      const root = host.attachShadow({mode: "open"});
      if ("adoptedStyleSheets" in root) {
        // A constructed sheet, not a <style> element: pages with a strict CSP (style-src without
        // 'unsafe-inline') still style the widget.
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.append(el("style", {}, CSS));
      }
      this.launcher = el("button", {class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "omni-chat-panel",
        onclick: () => this.toggle()});
      this.heading = el("h2", {id: "omni-chat-title"});
      this.languageButton = el("button", {type: "button", onclick: () => this.switchLanguage()});
      this.closeButton = el("button", {type: "button", onclick: () => this.toggle(false)}, "✕");
      this.status = el("p", {class: "status", role: "status"});
      this.callbackButton = el("button", {type: "button", class: "callback", hidden: "",
        onclick: () => this.frame({callback_slots: {}})});
      this.callbackChoice = el("div", {class: "callback-choice", role: "group", hidden: ""});
      this.log = el("ol");
      this.typing = el("p", {class: "typing", "aria-live": "polite"});
      this.input = el("textarea", {id: "omni-chat-input", rows: "2", maxlength: "8000",
        oninput: () => this.sendTyping(),
        onkeydown: (event) => { if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); this.submit(); } }});
      this.inputLabel = el("label", {for: "omni-chat-input", class: "sr"});
      this.sendButton = el("button", {type: "submit"});
      this.endButton = el("button", {type: "button", class: "end", onclick: () => this.end()});
      this.panel = el("section", {class: "panel", id: "omni-chat-panel", role: "dialog", "aria-labelledby": "omni-chat-title", hidden: ""},
        el("header", {}, this.heading, this.languageButton, this.closeButton),
        this.status, this.callbackButton, this.callbackChoice, el("div", {class: "log", role: "log", "aria-live": "polite", "aria-label": this.words.title}, this.log),
        this.typing, this.endButton,
        el("form", {onsubmit: (event) => { event.preventDefault(); this.submit(); }}, this.inputLabel, this.input, this.sendButton));
      this.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.toggle(false); });
      root.append(this.launcher, this.panel);
      document.body.append(host);
      this.label();
      this.render();
    }

    label() {
      const w = this.words;
      this.launcher.textContent = w.open;
      this.heading.textContent = w.title;
      this.languageButton.textContent = w.language;
      this.languageButton.setAttribute("aria-label", w.languageLabel);
      this.languageButton.setAttribute("lang", this.lang === "zh" ? "en" : "zh");
      this.closeButton.setAttribute("aria-label", w.close);
      this.input.placeholder = w.placeholder;
      this.inputLabel.textContent = w.label;
      this.sendButton.textContent = w.send;
      this.endButton.textContent = w.end;
      this.callbackButton.textContent = w.callback;
      this.panel.setAttribute("lang", this.locale());
    }

    switchLanguage() {
      this.lang = this.lang === "zh" ? "en" : "zh";
      this.save({lang: this.lang});
      this.label();
      this.render();
    }

    toggle(open = this.panel.hidden) {
      this.panel.hidden = !open;
      this.launcher.setAttribute("aria-expanded", String(open));
      this.save({open});
      if (open) {
        if (!this.socket) this.connect();
        this.input.focus();
        this.markRead();
      } else {
        this.launcher.focus();
      }
    }

    // ----- the connection ----------------------------------------------------------------

    connect() {
      this.started = false;
      this.ended = false;
      this.setStatus(this.words.connecting);
      const socket = new WebSocket(CHAT_URL);
      this.socket = socket;
      socket.addEventListener("open", () => this.open());
      socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
      socket.addEventListener("close", () => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (this.ended) return;
        this.setStatus(this.words.reconnecting);
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures++) * (0.75 + Math.random() / 2);
        setTimeout(() => { if (!this.socket) this.connect(); }, delay);
      });
    }

    open() {
      if (this.saved.token) {
        this.resuming = true;
        this.frame({resume: {session_token: this.saved.token}});
      } else {
        this.startNew();
      }
    }

    startNew() {
      this.resuming = false;
      if (!this.saved.handle) this.save({handle: `web-${newId()}`});
      const start = {handle: this.saved.handle, language: this.lang};
      const identity = window.OmniChat?.identityToken || this.identityToken;
      if (identity) start.identity_token = identity;
      if (this.saved.previous) start.previous_session_id = this.saved.previous;
      this.frame({start});
    }

    frame(value) {
      if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(value));
    }

    receive(frame) {
      if (frame.started) this.onStarted(frame.started);
      else if (frame.message) this.onMessage(frame.message);
      else if (frame.agent_typing) this.showAgentTyping();
      else if (frame.agent) this.agentName = frame.agent.display_name || "";
      else if (frame.read) this.onRead(frame.read.message_id);
      else if (frame.state) this.onState(frame.state);
      else if (frame.position) this.onPosition(frame.position);
      else if (frame.callback_slots) this.onCallbackSlots(frame.callback_slots.slots || []);
      else if (frame.callback_booked) this.onCallbackBooked(frame.callback_booked.number);
      else if (frame.error) this.onError(frame.error);
    }

    onStarted(started) {
      this.started = true;
      this.failures = 0;
      this.save({token: started.session_token, session: started.session_id});
      this.entries = (started.transcript || []).map((message) => ({message}));
      // The agent's display name (as routing knows them), never their id.
      this.agentName = started.agent_display_name || "";
      this.setStatus(this.agentName ? this.words.connected(this.agentName) : this.entries.length ? this.words.waiting : this.words.welcome);
      // Messages written before the chat (re)started, or never echoed back: send (again).
      for (const pending of this.saved.pending || []) {
        if (this.entries.some((e) => e.message.direction === "DIRECTION_INBOUND" && e.message.text === pending.text)) continue;
        this.frame({text: {text: pending.text, client_message_id: pending.id}});
      }
      this.render();
    }

    onError(error) {
      if (!this.started && this.resuming) {
        // The old chat cannot be resumed (ended, expired): this visitor starts a new one.
        this.save({previous: this.saved.session || "", token: "", session: "", callback: ""});
        this.startNew();
        return;
      }
      this.entries.push({info: error});
      this.render();
    }

    onMessage(message) {
      if (message.direction === "DIRECTION_INBOUND") {
        const pending = this.saved.pending || [];
        const index = pending.findIndex((p) => p.text === message.text);
        if (index >= 0) { pending.splice(index, 1); this.save({pending}); }
      } else {
        this.agentName = message.sender_name || this.agentName;
        this.typing.textContent = "";
        this.setStatus(this.words.connected(this.agentName || this.words.agent));
      }
      // A message seen before comes again when it changed (its sender's name became known).
      const seen = this.entries.find((e) => e.message?.id === message.id);
      if (seen) seen.message = message;
      else this.entries.push({message});
      this.render();
      this.markRead();
    }

    onRead(messageId) {
      for (const entry of this.entries) if (entry.message?.id === messageId) entry.read = true;
      this.render();
    }

    onState(state) {
      if (state === "SESSION_STATE_QUEUED") this.setStatus(this.words.waiting);
      else if (state === "SESSION_STATE_CONNECTED") this.setStatus(this.words.connected(this.agentName || this.words.agent));
      else if (ENDED.has(state)) {
        // The chat's token stays in memory for its satisfaction survey, asked once it has ended.
        if (this.saved.token) this.finished = {session: this.saved.session, token: this.saved.token};
        this.ended = true;
        this.save({previous: this.saved.session || "", token: "", session: "", callback: ""});
        this.setStatus(this.words.ended);
        if (state === "SESSION_STATE_ENDED" && this.finished && this.agentName) this.askSurvey(this.finished);
      }
    }

    // Sessions asks a survey only after a person handled the chat, once, and not twice a week.
    askSurvey(chat) {
      this.finished = null;
      const show = () => {
        this.entries.push({survey: window.OmniSurvey.form(chat.session, chat.token, this.lang)});
        this.render();
      };
      if (window.OmniSurvey) return show();
      const loader = el("script", {src: SURVEY_SCRIPT, onload: show});
      document.head.append(loader);
    }

    onPosition(position) {
      // The callback is offered while the wait is over a minute, unless this chat booked one.
      this.callbackButton.hidden = !(position.position && position.callback_offered && !this.saved.callback);
      if (!position.position) return;
      if (this.saved.callback) { this.setStatus(this.bookedText()); return; }
      const line = this.words.position(position.position, waitText(position.estimated_wait, this.words));
      this.setStatus(position.callback_offered ? `${line} ${this.words.longWait}` : line);
    }

    onCallbackSlots(slots) {
      // "Keep my place", or one of the times routing offers (shown in the visitor's own time zone).
      const w = this.words;
      const book = (dueTime) => {
        this.chosen = dueTime || "";
        this.frame({callback: dueTime ? {due_time: dueTime} : {}});
      };
      this.callbackChoice.replaceChildren(
        el("button", {type: "button", class: "callback", onclick: () => book("")}, w.keepPlace),
        ...(slots.length ? [el("p", {}, w.chooseTime)] : []),
        ...slots.map((slot) => el("button", {type: "button", class: "callback", "data-start": slot.start_time,
          onclick: () => book(slot.start_time)}, this.slotText(slot.start_time, slot.end_time))));
      this.callbackChoice.setAttribute("aria-label", w.callback);
      this.callbackChoice.hidden = false;
      this.callbackButton.hidden = true;
    }

    slotText(start, end) {
      return `${this.whenText(start)}–${this.timeFormat().format(new Date(end))}`;
    }

    whenText(at) {
      const day = new Intl.DateTimeFormat(this.locale(), {weekday: "short", month: "short", day: "numeric"});
      return `${day.format(new Date(at))} ${this.timeFormat().format(new Date(at))}`;
    }

    timeFormat() { return new Intl.DateTimeFormat(this.locale(), {hour: "2-digit", minute: "2-digit"}); }

    locale() { return this.lang === "zh" ? "zh-CN" : "en"; }

    bookedText() {
      const at = this.saved.callbackAt;
      return at ? this.words.callbackAt(this.saved.callback, this.whenText(at)) : this.words.callbackBooked(this.saved.callback);
    }

    onCallbackBooked(number) {
      this.save({callback: number, callbackAt: this.chosen || ""});
      this.callbackButton.hidden = true;
      this.callbackChoice.hidden = true;
      this.setStatus(this.bookedText());
    }

    showAgentTyping() {
      this.typing.textContent = this.words.agentTyping(this.agentName || this.words.agent);
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => { this.typing.textContent = ""; }, AGENT_TYPING_SHOWN_MS);
    }

    setStatus(text) { this.status.textContent = text; }

    // ----- what the visitor does ---------------------------------------------------------

    submit() {
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      const pending = {id: newId(), text};
      this.save({pending: [...(this.saved.pending || []), pending]});
      this.render();
      if (this.ended || !this.socket) {
        this.connect();  // a new chat after the last one ended; the pending message goes with it
      } else if (this.started) {
        this.frame({text: {text, client_message_id: pending.id}});
      }
    }

    sendTyping() {
      if (!this.started || Date.now() - this.lastTyping < TYPING_EVERY_MS) return;
      this.lastTyping = Date.now();
      this.frame({typing: {}});
    }

    markRead() {
      if (this.panel.hidden || !this.started) return;
      const last = this.entries.filter((e) => e.message?.direction === "DIRECTION_OUTBOUND").at(-1);
      if (last && last.message.id !== this.lastRead) {
        this.lastRead = last.message.id;
        this.frame({read: {message_id: last.message.id}});
      }
    }

    end() {
      this.frame({end: {}});
    }

    render() {
      const w = this.words;
      const items = this.entries.map((entry) => {
        if (entry.info) return el("li", {class: "info"}, entry.info);
        if (entry.survey) return el("li", {class: "survey"}, entry.survey);
        const message = entry.message;
        const mine = message.direction === "DIRECTION_INBOUND";
        return el("li", {class: mine ? "mine" : "theirs"},
          el("span", {class: "who"}, mine ? w.you : (message.sender_name || w.agent)),
          el("span", {class: "text"}, message.text || ""),
          entry.read ? el("span", {class: "meta"}, w.read) : "");
      });
      for (const pending of this.saved.pending || []) {
        items.push(el("li", {class: "mine"}, el("span", {class: "who"}, w.you), el("span", {class: "text"}, pending.text),
          el("span", {class: "meta"}, w.sending)));
      }
      this.log.replaceChildren(...items);
      this.log.parentElement.scrollTop = this.log.parentElement.scrollHeight;
    }
  }

  const widget = new ChatWidget();
  window.OmniChat = Object.assign(window.OmniChat || {}, {
    /** The company's signed identity token for the signed-in customer; used when the next chat starts. */
    identify(token) { this.identityToken = String(token || ""); },
    open() { widget.toggle(true); },
  });
})();
