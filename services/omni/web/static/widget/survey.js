// The satisfaction survey form (CSAT 1-5, NPS 0-10), shared by the chat widget (when a chat ends)
// and the page an emailed survey link opens (/survey/). It talks to the gateway's /widget/survey
// socket with the contact's own customer token; sessions decides whether there is a survey, and
// accepts one answer. Every text is set with textContent.
(() => {
  "use strict";
  const script = document.currentScript;
  const gateway = new URL(script.src, location.href);
  const SURVEY_URL = `${gateway.protocol === "https:" ? "wss:" : "ws:"}//${gateway.host}/widget/survey`;
  const WORDS = {
    en: {legend: "Rate this conversation", csat: "Satisfaction", nps: "Would you recommend us?", send: "Send rating",
      thanks: "Thank you for your feedback!", none: "There is no survey for this conversation."},
    zh: {legend: "请评价本次服务", csat: "满意度", nps: "您会向朋友推荐我们吗？", send: "提交评价",
      thanks: "感谢您的评价！", none: "本次会话没有需要填写的评价。"},
  };

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function scale(name, from, to, label) {
    const group = el("fieldset", {class: `scale ${name}`}, el("legend", {}, label));
    for (let n = from; n <= to; n += 1) {
      const id = `omni-${name}-${n}-${Math.random().toString(36).slice(2, 8)}`;
      group.append(el("input", {type: "radio", name, value: String(n), id}), el("label", {for: id}, String(n)));
    }
    return group;
  }

  /** A form element for one contact's survey; `lang` "zh" or "en" until the survey names its own. */
  function form(sessionId, token, lang) {
    let words = WORDS[lang === "zh" ? "zh" : "en"];
    const status = el("p", {class: "survey-status", role: "status"});
    const box = el("form", {class: "omni-survey", hidden: ""});
    const wrapper = el("div", {class: "omni-survey-area"}, box, status);
    const socket = new WebSocket(SURVEY_URL);
    socket.addEventListener("open", () => socket.send(JSON.stringify({open: {session_id: sessionId, token}})));
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.survey) {
        words = WORDS[frame.survey.language === "zh" ? "zh" : "en"];
        const csat = scale("csat", 1, 5, frame.survey.csat_question || words.csat);
        const nps = scale("nps", 0, 10, frame.survey.nps_question || words.nps);
        box.replaceChildren(el("h3", {}, words.legend), csat, nps, el("button", {type: "submit"}, words.send));
        box.hidden = false;
      } else if (frame.answered) {
        box.hidden = true;
        status.textContent = words.thanks;
      } else if (frame.error) {
        status.textContent = /no survey/.test(frame.error) ? words.none : frame.error;
      }
    });
    box.addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = (name) => box.querySelector(`input[name=${name}]:checked`);
      if (!picked("csat")) return;
      const answer = {csat: Number(picked("csat").value)};
      if (picked("nps")) answer.nps = Number(picked("nps").value);
      socket.send(JSON.stringify({answer}));
    });
    return wrapper;
  }

  window.OmniSurvey = {form};
})();
