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
