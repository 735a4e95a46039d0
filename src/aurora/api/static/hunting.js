// Aurora console, hunting and tuning: the retro-hunt page, a rule's tuning exceptions, and what
// the alert page adds to explain an alert. Loaded after pages.js; every value goes in as text.
"use strict";

// Run ``extra`` after the page's own filler (pages.js), when both apply to one page.
function addToPage(name, extra) {
  const base = pages[name];
  pages[name] = () => { if (base) base(); extra(); };
}

const splitList = (text) => (text || "").split(/[,\n]/).map((s) => s.trim()).filter(Boolean);

addToPage("rule", () => {
  const id = $("#rule").dataset.ruleId;
  const load = async () => {
    const t = await api("GET", "/api/v1/tuning");
    const mine = t.items.filter((e) => e.rule === id);
    $("#tuned-out").textContent = `${t.tuned_out[id] || 0} matches tuned out since the collector started`;
    $("#tuning-table tbody").replaceChildren(...mine.map((e) => el("tr", { dataset: { exceptionId: e.id } },
      el("td", {}, Object.entries(e.fields).map(([f, vs]) => `${f} = ${vs.join(" | ")}`).join("; ")),
      el("td", {}, (e.hosts || []).join(", ") || "all"), el("td", {}, e.comment || ""),
      el("td", {}, perms.has("rules:write") ? el("button", { type: "button", onclick: async () => {
        try { await api("DELETE", "/api/v1/tuning/" + e.id); toast("Exception removed"); load(); } catch (err) { toast(err.message, "bad"); }
      } }, "Remove") : null))));
    $("#tuning-empty").hidden = mine.length > 0;
  };
  $("#tuning-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = formParams(e.target);
    const values = p.values.split("\n").map((v) => v.trim()).filter(Boolean);
    const body = { rule: id, fields: { [p.field.trim()]: values }, comment: p.comment };
    const hosts = splitList(p.hosts);
    if (hosts.length) body.hosts = hosts;
    try { await api("POST", "/api/v1/tuning", body); toast("Exception added; in force within seconds"); e.target.reset(); load(); } catch (err) { toast(err.message, "bad"); }
  });
  load().catch((err) => toast(err.message, "bad"));
});

function huntRow(h) {
  const pct = Math.round(h.progress * 100);
  return el("tr", { dataset: { huntId: h.id } },
    el("td", {}, fmtTime(h.started_ms)), el("td", {}, el("a", { href: "/rules/" + encodeURIComponent(h.rule_id) }, h.title || h.rule_id)),
    el("td", {}, `${fmtTime(h.since_ms)} – ${fmtTime(h.until_ms)}`), el("td", {}, (h.sensor_ids || []).join(", ") || "all"),
    el("td", {}, h.requested_by), el("td", { class: "state state-" + h.state }, h.error ? `${h.state}: ${h.error}` : h.state),
    el("td", {}, el("progress", { max: 100, value: pct }), ` ${pct}%`), el("td", {}, h.scanned),
    el("td", {}, h.matches ? el("a", { href: "/alerts?q=" + encodeURIComponent("Retro-hunt") }, h.matches) : "0"));
}

pages.hunts = () => {
  let timer = null;
  const load = async () => {
    const hunts = await api("GET", "/api/v1/hunts");
    $("#hunts-table tbody").replaceChildren(...hunts.items.map(huntRow));
    $("#hunts-empty").hidden = hunts.items.length > 0;
    clearTimeout(timer);
    // Progress is polled while a hunt runs, and not after.
    if (hunts.items.some((h) => h.state === "running")) timer = setTimeout(load, 1000);
  };
  $("#hunt-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#hunt-errors").replaceChildren();
    const p = formParams(e.target);
    const body = { since_ms: new Date(p.since + "Z").getTime() };
    if (p.until) body.until_ms = new Date(p.until + "Z").getTime();
    if (p.yaml.trim()) body.yaml = p.yaml; else body.rule_id = p.rule_id.trim();
    const hosts = splitList(p.hosts);
    if (hosts.length) body.hosts = hosts;
    try { const h = await api("POST", "/api/v1/hunts", body); toast("Hunt started: " + h.title); load(); } catch (err) {
      const errs = (err.data && err.data.detail && err.data.detail.errors) || [err.message];
      $("#hunt-errors").replaceChildren(...errs.map((m) => el("li", {}, m)));
    }
  });
  load().catch((err) => toast(err.message, "bad"));
};

// The evidence as JSON, each line that holds a matched value marked (as text, never as HTML).
function markedEvidence(evidences, matched) {
  const needles = matched.map((m) => JSON.stringify(m.value)).filter((v) => v && v !== "null");
  return JSON.stringify(evidences, null, 2).split("\n").map((line) =>
    needles.some((n) => line.includes(n)) ? el("mark", {}, line + "\n") : line + "\n");
}

function explainAlert(a) {
  const x = a.explanation || {};
  const rule = x.rule || {};
  $("#rule-description").replaceChildren(el("a", { href: "/rules/" + encodeURIComponent(rule.id) }, rule.title || rule.id), ": ", rule.description || "(no description)");
  const retro = $("#retro-hunt-note");
  retro.hidden = !x.retro_hunt;
  if (x.retro_hunt) retro.textContent = `A retro-hunt result (hunt ${x.retro_hunt.id}, started by ${x.retro_hunt.by}): the event is older than the alert.`;
  const matched = x.matched_fields || [];
  $("#matched-fields tbody").replaceChildren(...matched.map((m) => el("tr", {},
    el("td", {}, el("code", {}, m.field), el("span", { class: "muted" }, " " + m.path)),
    el("td", {}, el("mark", {}, String(m.value))), el("td", {}, (m.selections || []).join(", ")))));
  $("#attack-links").replaceChildren(...(x.attacks || []).map((t) => el("li", {},
    t.uid ? webLink(t.url) : "", t.uid ? ` (${t.uid})` : "",
    ...(t.tactics || []).map((tc) => [" · ", el("a", { href: tc.url, rel: "noreferrer noopener", target: "_blank" }, `${tc.name} ${tc.uid}`)]))));
  const fps = rule.falsepositives || [];
  $("#falsepositives").replaceChildren(...(fps.length ? fps : ["none listed"]).map((f) => el("li", {}, f)));
  $("#alert-references").replaceChildren(...(rule.references || []).map((r) => el("li", {}, webLink(r))));
  $("#evidence").replaceChildren(...markedEvidence((a.finding || {}).evidences || [], matched));
  const related = x.related || [];
  $("#related-alerts tbody").replaceChildren(...related.map((r) => el("tr", {},
    el("td", {}, sevBadge(r.severity_id)), el("td", {}, el("a", { href: "/alerts/" + r.alert_id }, r.title)),
    el("td", {}, r.status), el("td", {}, fmtTime(r.last_seen_ms)))));
  $("#related-empty").hidden = related.length > 0;
  const buttons = (x.actions || []).map((act) => {
    if (act.action === "tune") return el("a", { class: "button", href: `/rules/${encodeURIComponent(rule.id)}#tuning` }, act.label);
    if (act.action === "retro-hunt") return el("a", { class: "button", href: "/hunts?rule=" + encodeURIComponent(rule.id) }, act.label);
    if (!("params" in act)) return null;  // status, assignment and comments have their own controls
    return el("button", { type: "button", dataset: { respond: act.action }, onclick: async () => {
      try { await requestAction(a.sensor_id, act.action, act.params); } catch (err) { toast(err.message, "bad"); }
    } }, act.label);
  }).filter(Boolean);
  $("#alert-actions").replaceChildren(...(buttons.length ? buttons : [el("span", { class: "muted" }, "Your role allows no action here.")]));
}

// The retro-hunt page opened from an alert starts with that alert's rule filled in.
addToPage("hunts", () => {
  const rule = new URLSearchParams(location.search).get("rule");
  if (rule) $("#hunt-form").rule_id.value = rule;
});

// Column headers sort on the server: a click sets the form's sort and order (a second click on
// the same column reverses it) and submits the form, so the page reloads its rows sorted.
function sortableHeaders(form, table) {
  table.querySelectorAll("a.sort").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    const again = form.elements.sort.value === a.dataset.sort;
    form.elements.order.value = again && form.elements.order.value === "desc" ? "asc" : "desc";
    form.elements.sort.value = a.dataset.sort;
    table.querySelectorAll("a.sort").forEach((b) => { b.classList.toggle("on", b === a); b.removeAttribute("aria-sort"); });
    a.setAttribute("aria-sort", form.elements.order.value === "asc" ? "ascending" : "descending");
    form.requestSubmit();
  }));
}
addToPage("alerts", () => sortableHeaders($("#alert-filters"), $("#alerts-table")));
addToPage("hosts", () => sortableHeaders($("#host-filters"), $("#hosts-table")));
