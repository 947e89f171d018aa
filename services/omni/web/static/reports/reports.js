// The supervisors' list of scheduled KPI reports (daily, weekly, monthly), newest first, each
// with its HTML page and CSV. Reads with the desk's sign-in cookie; text set with textContent.
const body = document.querySelector("table.reports tbody");
const status = document.querySelector(".status");
const period = document.getElementById("period");

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

const shown = (stamp) => (stamp ? new Date(stamp).toISOString().slice(0, 16).replace("T", " ") : "");

async function load() {
  status.textContent = "Loading…";
  const response = await fetch(`/api/reports?period=${encodeURIComponent(period.value)}`, {credentials: "same-origin"});
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    status.textContent = response.status === 401 ? "Sign in at the desk first (a supervisor's token)." : answer.error || response.statusText;
    body.replaceChildren();
    return;
  }
  const reports = answer.reports || [];
  status.textContent = reports.length ? "" : "No reports yet: each is made once its day, week or month is over.";
  body.replaceChildren(...reports.map((r) => {
    const row = document.createElement("tr");
    const name = encodeURIComponent(r.name);
    row.append(cell(link(`/api/reports/${name}/html`, r.name)), cell(shown(r.start_time)), cell(shown(r.end_time)),
      cell(String(r.contacts)), cell(shown(r.generate_time)), cell(link(`/api/reports/${name}/csv`, "CSV")));
    return row;
  }));
}

period.addEventListener("change", load);
load();
