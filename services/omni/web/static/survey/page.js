// The page an emailed survey link opens: /survey/#s=<session id>&t=<customer token>. The token is
// in the fragment, so it never reaches a server's access log.
(() => {
  "use strict";
  const params = new URLSearchParams(location.hash.slice(1));
  const lang = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  document.documentElement.lang = lang;
  document.querySelector("main").append(window.OmniSurvey.form(params.get("s") || "", params.get("t") || "", lang));
})();
