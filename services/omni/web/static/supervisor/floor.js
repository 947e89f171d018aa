// The supervisor's floor: queues and agents live, alerts to acknowledge, and one conversation
// opened from an alert or an agent's work, with whisper, barge-in, call legs and take-over.
// Everything arrives pushed on one socket (/api/supervisor/floor); the page never polls.
import {Api} from "../desk/api.js";
import {enumName, h, replace, time} from "../desk/dom.js";
import {language, switchLanguage} from "../desk/i18n.js";

const WORDS = {
  en: {
    title: "Omnichannel floor", signInFirst: "Sign in at the desk first, then come back.", desk: "Agent desk",
    alerts: "Alerts", noAlerts: "No open alerts.", queues: "Queues", agents: "Agents", queue: "Queue",
    waiting: "Waiting", longest: "Longest wait", slToday: "SL today", sl15: "SL 15 min", target: "target",
    available: "Available", busy: "Busy", onBreak: "Break", callbacks: "Callbacks", bots: "With bots",
    agent: "Agent", state: "State", since: "Since", work: "Work", handled: "Handled today", aht: "AHT",
    open: "Open", acknowledge: "Acknowledge", acknowledged: (who) => `acknowledged by ${who}`,
    conversation: "Conversation", whisper: "Whisper to the agent", send: "Send", barge: "Barge in (the customer sees it)",
    takeOver: "Take over", takenOver: "Taken over: it is offered to you at your desk.", whisperBadge: "Whisper",
    note: "Note", monitor: "Listen in", whisperCall: "Whisper", bargeCall: "Barge in", legAsked: "Asked the PBX.",
    language: "中文", languageLabel: "切换到中文", reconnecting: "Reconnecting…", degraded: "Not current:",
    kind_angry: "Angry customer", kind_emotion_rising: "Emotion rising", kind_emergency: "Emergency",
    kind_rona: "Offer not answered", kind_late_greeting: "Late greeting", kind_sla_breached: "SLA breached",
    kind_sla_breach_imminent: "SLA breach soon", kind_service_level_low: "Service level low",
    kind_abandonment_spike: "Abandonment spike", kind_kpi_outside_band: "Outside its usual band",
    kind_follow_up_overdue: "Follow-up overdue",
  },
  zh: {
    title: "全渠道现场监控", signInFirst: "请先在坐席工作台登录，然后返回此页。", desk: "坐席工作台",
    alerts: "告警", noAlerts: "暂无未处理告警。", queues: "队列", agents: "坐席", queue: "队列",
    waiting: "排队", longest: "最长等待", slToday: "今日服务水平", sl15: "15 分钟服务水平", target: "目标",
    available: "空闲", busy: "忙碌", onBreak: "小休", callbacks: "待回拨", bots: "机器人处理中",
    agent: "坐席", state: "状态", since: "自", work: "当前工作", handled: "今日处理", aht: "平均处理时长",
    open: "打开", acknowledge: "确认", acknowledged: (who) => `已由 ${who} 确认`,
    conversation: "会话", whisper: "对坐席耳语", send: "发送", barge: "插话（客户可见）",
    takeOver: "接管", takenOver: "已接管：工作将分配到您的工作台。", whisperBadge: "耳语",
    note: "备注", monitor: "监听", whisperCall: "耳语", bargeCall: "强插", legAsked: "已请求交换机。",
    language: "English", languageLabel: "Switch to English", reconnecting: "正在重新连接…", degraded: "数据未更新：",
    kind_angry: "客户愤怒", kind_emotion_rising: "情绪升高", kind_emergency: "紧急", kind_rona: "分配未应答",
    kind_late_greeting: "问候超时", kind_sla_breached: "SLA 已违约", kind_sla_breach_imminent: "SLA 即将违约",
    kind_service_level_low: "服务水平偏低", kind_abandonment_spike: "放弃率突增", kind_kpi_outside_band: "指标超出常规范围",
    kind_follow_up_overdue: "跟进任务逾期",
  },
};

function w(key, ...args) {
  const word = WORDS[language()][key] ?? WORDS.en[key] ?? key;
  return typeof word === "function" ? word(...args) : word;
}

function seconds(duration) {
  return Math.round(parseFloat(String(duration || "0s")));
}

function percent(level) {
  return level < 0 ? "–" : `${Math.round(level * 100)}%`;
}

class OmniFloor extends HTMLElement {
  async connectedCallback() {
    this.api = new Api();
    this.alerts = new Map();
    this.floor = {queues: [], agents: [], degraded: []};
    this.drill = null;
    try {
      this.me = await this.api.get("/api/me");
    } catch (error) {
      replace(this, h("main", {class: "signin"}, h("h1", {}, w("title")), h("p", {}, w("signInFirst")),
        h("a", {href: "/desk/"}, w("desk"))));
      return;
    }
    this.api.csrf = this.me.csrf;
    this.render();
    this.socket = this.api.live("/api/supervisor/floor", (frame) => this.onFrame(frame), (state, reason) => {
      this.status(state === "refused" ? reason : state === "reconnecting" ? w("reconnecting") : "");
    });
  }

  onFrame(frame) {
    if (frame.floor) {
      this.floor = frame.floor;
      this.renderQueues();
      this.renderAgents();
    } else if (frame.alert) {
      const alert = frame.alert.alert;
      this.alerts.set(alert.id, alert);
      this.renderAlerts();
    } else if (frame.error) {
      this.status(frame.error);
    }
  }

  status(text) {
    const line = this.querySelector(".alert");
    if (line) line.textContent = text || "";
  }

  render() {
    document.title = w("title");
    replace(this,
      h("header", {class: "top"},
        h("h1", {}, w("title")),
        h("span", {class: "who"}, this.me.display_name || this.me.subject),
        h("a", {href: "/desk/"}, w("desk")),
        h("button", {type: "button", class: "link", "aria-label": w("languageLabel"),
          onclick: () => { switchLanguage(); this.render(); }}, w("language"))),
      h("p", {class: "alert", role: "alert"}),
      h("div", {class: "floor"},
        h("section", {"aria-label": w("alerts")}, h("h2", {}, w("alerts")),
          h("ul", {class: "alerts", "aria-live": "polite"}),
          h("div", {class: "drill-slot"})),
        h("section", {"aria-label": w("queues")}, h("h2", {}, w("queues")), h("div", {class: "queues"}),
          h("h2", {}, w("agents")), h("div", {class: "agents"}))));
    this.renderAlerts();
    this.renderQueues();
    this.renderAgents();
    if (this.drill) this.querySelector(".drill-slot").append(this.drill.element);
  }

  renderAlerts() {
    const list = this.querySelector(".alerts");
    if (!list) return;
    const alerts = [...this.alerts.values()].sort((a, b) => Date.parse(b.create_time) - Date.parse(a.create_time));
    if (!alerts.length) { replace(list, h("li", {class: "acknowledged"}, w("noAlerts"))); return; }
    replace(list, alerts.map((alert) => {
      const kind = enumName(alert.kind, "ALERT_KIND_");
      return h("li", {class: alert.acknowledged ? "acknowledged" : "", dataset: {id: alert.id, kind}},
        h("span", {class: "kind"}, w(`kind_${kind}`)),
        h("span", {class: "detail"}, alert.detail),
        h("span", {class: "where"}, [alert.queue_id, alert.agent_id, alert.ticket_id, alert.session_id].filter(Boolean).join(" · "),
          " ", h("time", {datetime: alert.create_time}, time(alert.create_time))),
        h("div", {class: "actions"},
          alert.session_id ? h("button", {type: "button", onclick: () => this.open(alert.session_id, alert.work_id)}, w("open")) : null,
          alert.acknowledged ? h("span", {}, w("acknowledged", alert.acknowledged_by))
            : h("button", {type: "button", class: "primary", onclick: () => this.acknowledge(alert)}, w("acknowledge"))));
    }));
  }

  async acknowledge(alert) {
    try {
      const done = await this.api.post(`/api/supervisor/alerts/${encodeURIComponent(alert.id)}/acknowledge`);
      this.alerts.set(done.id, done);
      this.renderAlerts();
    } catch (error) {
      this.status(error.message);
    }
  }

  renderQueues() {
    const slot = this.querySelector(".queues");
    if (!slot) return;
    const degraded = this.floor.degraded?.length ? h("p", {class: "problem"}, w("degraded"), " ", this.floor.degraded.join(", ")) : null;
    replace(slot, degraded, h("table", {},
      h("thead", {}, h("tr", {}, ["queue", "waiting", "longest", "slToday", "sl15", "available", "busy", "onBreak",
        "callbacks", "bots"].map((k) => h("th", {scope: "col"}, w(k))))),
      h("tbody", {}, this.floor.queues.map((q) => {
        const below = q.service_level_15m >= 0 && q.service_level_15m < q.service_level_target;
        return h("tr", {dataset: {queue: q.queue_id}},
          h("th", {scope: "row"}, q.display_name || q.queue_id),
          h("td", {class: "number waiting"}, q.waiting),
          h("td", {class: "number"}, `${seconds(q.longest_wait)} s`),
          h("td", {class: "number"}, percent(q.service_level_today)),
          h("td", {class: `number${below ? " below" : ""}`}, percent(q.service_level_15m),
            ` (${w("target")} ${percent(q.service_level_target)})`),
          h("td", {class: "number"}, q.agents_available), h("td", {class: "number"}, q.agents_busy),
          h("td", {class: "number"}, q.agents_on_break), h("td", {class: "number"}, q.callbacks_pending),
          h("td", {class: "number"}, q.bot_held));
      }))));
  }

  renderAgents() {
    const slot = this.querySelector(".agents");
    if (!slot) return;
    replace(slot, h("table", {},
      h("thead", {}, h("tr", {}, ["agent", "state", "since", "work", "handled", "aht"].map((k) => h("th", {scope: "col"}, w(k))))),
      h("tbody", {}, this.floor.agents.map((a) => h("tr", {dataset: {agent: a.agent_id}},
        h("th", {scope: "row"}, a.display_name || a.agent_id),
        h("td", {}, a.status, a.status_reason ? ` (${a.status_reason})` : ""),
        h("td", {}, h("time", {datetime: a.status_since}, time(a.status_since))),
        h("td", {}, a.work.map((item) => h("button", {type: "button", class: "link",
          onclick: () => this.open(item.session_id, item.work_id)},
          `${enumName(item.channel, "CHANNEL_")} ${item.session_id}`))),
        h("td", {class: "number"}, a.handled_today),
        h("td", {class: "number"}, `${seconds(a.average_handle_time)} s`))))));
  }

  // Drilling into one conversation: its transcript live (sessions' WatchSession with our token).
  open(sessionId, workId) {
    this.drill?.socket.close();
    const transcript = h("ol", {"aria-live": "polite", "aria-label": w("conversation")});
    const entries = new Map();
    const drill = {sessionId, workId, transcript, entries, channel: ""};
    const show = () => replace(transcript, [...entries.values()]
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).map((e) => e.item));
    const message = (m) => entries.set(m.id, {at: m.time, item: h("li",
      {class: m.direction === "DIRECTION_INBOUND" ? "inbound" : "outbound"}, h("span", {class: "who"}, m.sender), " ",
      h("span", {class: "text"}, m.text))});
    const note = (n) => entries.set(n.id, {at: n.create_time, item: h("li", {class: "note"},
      h("span", {class: "badge"}, n.kind === "SESSION_NOTE_KIND_WHISPER" ? w("whisperBadge") : w("note")),
      h("span", {class: "who"}, n.author_id), " ", h("span", {class: "text"}, n.text))});
    drill.socket = this.api.live(`/api/sessions/${encodeURIComponent(sessionId)}/watch`, (frame) => {
      const update = frame.update;
      if (!update) { if (frame.error) this.status(frame.error); return; }
      if (update.kind === "snapshot") {
        for (const m of update.session.messages) message(m);
        for (const n of update.session.notes) note(n);
        if (drill.channel !== update.session.channel) {
          drill.channel = update.session.channel;
          this.renderChannelActions();
        }
      } else if (update.kind === "message") message(update.message);
      else if (update.kind === "note") note(update.note);
      show();
    }, () => {}, {endsWhenDone: true});
    drill.show = show;
    this.drill = drill;
    this.renderDrill();
  }

  // The drill's forms are built once per conversation: what arrives while the supervisor types
  // (the opening snapshot, a reconnection's) leaves their text and focus alone.
  renderDrill() {
    const drill = this.drill;
    drill.actions = h("div", {class: "channel-actions"});
    drill.element = h("section", {class: "drill", "aria-label": w("conversation")},
      h("h2", {}, w("conversation"), " ", drill.sessionId),
      drill.transcript,
      this.textForm(w("whisper"), "whisper", "whisper"),
      drill.actions,
      drill.workId ? h("button", {type: "button", class: "primary take-over", onclick: () => this.takeOver()}, w("takeOver")) : null);
    this.renderChannelActions();
    drill.show();
    const slot = this.querySelector(".drill-slot");
    if (slot) replace(slot, drill.element);
  }

  // Joining in as the channel allows, once the snapshot named it: call legs on a phone call, a
  // reply the customer sees on the others.
  renderChannelActions() {
    const channel = this.drill.channel;
    replace(this.drill.actions, !channel ? null : channel === "CHANNEL_PHONE"
      ? h("div", {class: "call-legs"}, [["monitor", "monitor"], ["whisper", "whisperCall"], ["barge", "bargeCall"]].map(
        ([mode, label]) => h("button", {type: "button", onclick: () => this.callLeg(mode)}, w(label))))
      : this.textForm(w("barge"), "barge", "replies"));
  }

  textForm(label, id, path) {
    const sessionId = this.drill.sessionId;
    const box = h("input", {id, maxlength: 7700, required: true});
    return h("form", {onsubmit: async (event) => {
      event.preventDefault();
      try {
        await this.api.post(`/api/sessions/${encodeURIComponent(sessionId)}/${path}`,
          {text: box.value, request_id: crypto.randomUUID()});
        box.value = "";
      } catch (error) { this.status(error.message); }
    }}, h("label", {for: id}, label), box, h("button", {type: "submit"}, w("send")));
  }

  async callLeg(mode) {
    try {
      await this.api.post(`/api/sessions/${encodeURIComponent(this.drill.sessionId)}/call-leg`,
        {mode, request_id: crypto.randomUUID()});
      this.status(w("legAsked"));
    } catch (error) { this.status(error.message); }
  }

  async takeOver() {
    try {
      await this.api.post(`/api/work/${encodeURIComponent(this.drill.workId)}/takeover`);
      this.status(w("takenOver"));
    } catch (error) { this.status(error.message); }
  }
}

customElements.define("omni-floor", OmniFloor);
