// Aurora console: the data of each page (alerts, hosts, hunt, rules, users, audit), filled from the
// REST API with the helpers of app.js. Every value goes in as text (el() makes text nodes).
"use strict";

function alertRow(a) {
  return el("tr", { dataset: { alertId: a.alert_id }, class: a.status === "new" ? "unread" : "" },
    el("td", {}, sevBadge(a.severity_id)),
    el("td", {}, el("a", { href: "/alerts/" + a.alert_id, class: "alert-link" }, a.title)),
    el("td", {}, el("a", { href: "/hosts/" + encodeURIComponent(a.sensor_id) }, a.hostname || a.sensor_id)),
    el("td", {}, a.status), el("td", {}, a.assignee || "—"), el("td", {}, a.count),
    el("td", {}, fmtTime(a.last_seen_ms)));
}

pages.alerts = () => {
  const form = $("#alert-filters");
  const body = $("#alerts-table tbody");
  let filters = formParams(form);
  const load = async (offset) => {
    exportLink("#alerts-export", "/api/v1/alerts", filters);
    const page = await api("GET", "/api/v1/alerts" + query({ ...filters, offset: offset || 0, limit: 50 }));
    body.replaceChildren(...page.items.map(alertRow));
    $("#alerts-empty").hidden = page.items.length > 0;
    pager($("#alerts-pager"), page, load);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); filters = formParams(form); load(0); });
  onLive("alert", (a) => {
    if (filters.status && a.status !== filters.status) return;
    if (filters.min_severity && a.severity_id < Number(filters.min_severity)) return;
    const row = alertRow(a);
    row.classList.add("fresh");
    body.prepend(row);
    $("#alerts-empty").hidden = true;
    toast("New alert: " + a.title);
  });
  load(0);
};

function renderTree(container, tree) {
  container.replaceChildren();
  if (!tree) { container.append(el("p", { class: "muted" }, "No process is attached to this alert.")); return; }
  const label = (n, cls) => el("div", { class: "node " + (cls || "") },
    el("span", { class: "pid" }, "pid " + n.pid), " ", el("strong", {}, n.name || "?"),
    n.cmd_line ? el("code", {}, n.cmd_line) : null,
    n.user ? el("span", { class: "muted" }, " user " + n.user) : null);
  const list = el("ul", { class: "tree-list" });
  let cursor = list;
  for (const a of [...tree.ancestors].reverse()) {
    const li = el("li", {}, label(a, "ancestor"));
    const ul = el("ul", {});
    li.append(ul);
    cursor.append(li);
    cursor = ul;
  }
  const self = el("li", {}, label(tree.process, "focus"));
  if (tree.children.length) self.append(el("ul", {}, tree.children.map((c) => el("li", {}, label(c, "child")))));
  cursor.append(self);
  container.append(list);
}

pages.alert = () => {
  const id = $("#alert").dataset.alertId;
  const load = async () => {
    const a = await api("GET", "/api/v1/alerts/" + id);
    $("#alert-title").replaceChildren(sevBadge(a.severity_id), " ", a.title);
    const facts = [["Status", a.status], ["Host", a.hostname || a.sensor_id], ["Rule", a.rule_uid],
      ["ATT&CK", a.attacks.join(", ") || "—"], ["First seen", fmtTime(a.first_seen_ms)],
      ["Last seen", fmtTime(a.last_seen_ms)], ["Count", a.count], ["Assignee", a.assignee || "—"]];
    $("#alert-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { id: "fact-" + k.toLowerCase().replace(/\W/g, "") }, v)]));
    $("#evidence").textContent = JSON.stringify((a.finding || {}).evidences || [], null, 2);
    renderTree($("#process-tree"), a.process_tree);
    if (typeof explainAlert === "function") explainAlert(a);  // hunting.js: why it fired
    $("#comments").replaceChildren(...a.comments.map((c) => el("li", {}, el("strong", {}, c.author), " ", el("span", { class: "muted" }, fmtTime(c.time_ms)), el("p", {}, c.text))));
    if (a.process_tree && a.process_tree.process && a.process_tree.process.pid) {
      const tl = await api("GET", `/api/v1/hosts/${encodeURIComponent(a.sensor_id)}/processes/${a.process_tree.process.pid}/timeline?limit=200`);
      $("#timeline tbody").replaceChildren(...tl.items.map((ev) => el("tr", {}, el("td", {}, fmtTime(ev.time_ms)), el("td", {}, ev.class_name || ev.class_uid), el("td", {}, ev.process_name + " (" + ev.pid + ")"), el("td", {}, eventSummary(ev)))));
      $("#timeline-note").textContent = tl.items.length ? "" : "(no stored events for this process)";
    }
    return a;
  };
  document.querySelectorAll("[data-status]").forEach((b) => b.addEventListener("click", async () => {
    try { await api("PATCH", "/api/v1/alerts/" + id, { status: b.dataset.status }); toast("Status: " + b.dataset.status); load(); } catch (err) { toast(err.message, "bad"); }
  }));
  $("#assign").addEventListener("click", async () => {
    try { await api("PATCH", "/api/v1/alerts/" + id, { assignee: $("#assignee").value.trim() }); load(); } catch (err) { toast(err.message, "bad"); }
  });
  $("#comment-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api("POST", `/api/v1/alerts/${id}/comments`, formParams(e.target)); e.target.reset(); load(); } catch (err) { toast(err.message, "bad"); }
  });
  load().catch((err) => { $("#alert-title").textContent = err.message; });
};

function actionButtons(h) {
  if (!perms.has("respond")) return null;
  const act = (action) => async () => {
    try { await requestAction(h.sensor_id, action, {}); } catch (err) { toast(err.message, "bad"); }
  };
  return el("td", { class: "row-actions" },
    ...h.isolation_actions.map((a) => el("button", { type: "button", onclick: act(a), dataset: { act: a } }, a === "isolate" ? "Isolate" : "Unisolate")),
    el("button", { type: "button", onclick: act("triage"), dataset: { act: "triage" } }, "Triage"));
}

async function requestAction(host, action, params) {
  const label = action === "kill" ? `kill pid ${params.pid}` : action;
  if ((action === "kill" || action === "isolate" || action === "quarantine") && !confirm(`Really ${label} on ${host}?`)) return null;
  const cmd = await api("POST", `/api/v1/hosts/${encodeURIComponent(host)}/actions`, { action, params });
  toast(cmd.created ? `${action} requested (${cmd.state})` : `${action} already pending`);
  return cmd;
}

function capState(c) {
  if (c.loaded === true) return "loaded";
  if (c.loaded === false) return "not loaded";
  return c.state || c.status || "";
}

function hostRow(h) {
  return el("tr", { dataset: { sensorId: h.sensor_id } },
    el("td", {}, el("a", { href: "/hosts/" + encodeURIComponent(h.sensor_id) }, h.hostname || h.sensor_id)),
    el("td", {}, `${h.os_name} ${h.os_version}`), el("td", {}, h.sensor_version),
    el("td", {}, h.connected ? "yes" : "no"), el("td", {}, h.health),
    el("td", { class: "isolation iso-" + h.isolation }, h.isolation), el("td", {}, fmtTime(h.last_seen_ms)),
    el("td", {}, h.drops_kernel + h.drops_spool_evicted + h.drops_spool_corrupt), actionButtons(h));
}

function actionRow(c, withHost) {
  const result = c.final ? (c.error_code ? c.error_code + ": " : "") + (c.message || "") : c.stage;
  const cells = [el("td", {}, fmtTime(c.created_ms))];
  if (withHost) cells.push(el("td", {}, c.sensor_id));
  cells.push(el("td", {}, c.action), el("td", {}, c.requested_by), el("td", { class: "state state-" + c.state }, c.state));
  if (!withHost) cells.push(el("td", {}, Math.round((c.progress || 0) * 100) + "%"));
  const res = el("td", {}, result || "");
  if (c.action === "triage" && c.state === "succeeded" && perms.has("triage:download")) {
    res.append(" ", el("a", { href: `/api/v1/actions/${c.command_id}/download` }, "download"));
  }
  cells.push(res);
  return el("tr", { dataset: { commandId: c.command_id } }, ...cells);
}

function upsertRow(tbody, key, value, row) {
  const old = tbody.querySelector(`tr[data-${key}="${CSS.escape(value)}"]`);
  if (old) old.replaceWith(row); else tbody.prepend(row);
}

pages.hosts = () => {
  const form = $("#host-filters");
  const load = async (offset) => {
    exportLink("#hosts-export", "/api/v1/hosts", formParams(form));
    const page = await api("GET", "/api/v1/hosts" + query({ ...formParams(form), offset: offset || 0 }));
    $("#hosts-table tbody").replaceChildren(...page.items.map(hostRow));
    $("#hosts-empty").hidden = page.items.length > 0;
    pager($("#hosts-pager"), page, load);
    const acts = await api("GET", "/api/v1/actions?limit=20");
    $("#actions-table tbody").replaceChildren(...acts.items.map((c) => actionRow(c, true)));
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(0); });
  onLive("host", (h) => upsertRow($("#hosts-table tbody"), "sensor-id", h.sensor_id, hostRow(h)));
  onLive("action", (c) => upsertRow($("#actions-table tbody"), "command-id", c.command_id, actionRow(c, true)));
  load(0);
};

// The sensor guard's report: every hook and canary family, its state and since when.
function renderHookHealth(r) {
  if (!r) return;
  const prev = r.previous_run ? ` Previous run: ${r.previous_run}.` : "";
  $("#hook-checked").textContent = `Checked ${fmtTime(r.checked_ms)}; last good check ${r.last_good_ms ? fmtTime(r.last_good_ms) : "never"}.${prev}`;
  const rows = [...(r.hooks || []), ...(r.families || [])];
  $("#hooks tbody").replaceChildren(...rows.map((x) => el("tr", { class: x.state === "ok" ? "" : "cap-failed" },
    el("td", {}, x.name), el("td", {}, x.state), el("td", {}, fmtTime(x.since_ms)), el("td", {}, x.detail || ""))));
}

pages.host = () => {
  const hostKey = $("#host").dataset.host;
  let sensorId = hostKey;
  const renderHost = (h) => {
    sensorId = h.sensor_id;
    $("#host-title").textContent = h.hostname || h.sensor_id;
    const facts = [["Sensor id", h.sensor_id], ["OS", `${h.os_name} ${h.os_version} (${h.kernel_version})`],
      ["Sensor version", h.sensor_version], ["Connected", h.connected ? "yes" : "no"], ["Health", h.health],
      ["Isolation", h.isolation], ["Last seen", fmtTime(h.last_seen_ms)], ["Addresses", h.ip_addresses.join(", ")],
      ["Spool", `${h.spool_bytes} / ${h.spool_max_bytes} bytes`],
      ["Drops", `kernel ${h.drops_kernel}, spool evicted ${h.drops_spool_evicted}, corrupt ${h.drops_spool_corrupt}`]];
    $("#host-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { id: "fact-" + k.toLowerCase().replace(/\W/g, "") }, v)]));
    $("#caps tbody").replaceChildren(...h.capabilities.map((c) => el("tr", { class: c.loaded === false ? "cap-failed" : "" },
      el("td", {}, c.name || ""), el("td", {}, capState(c)), el("td", {}, c.reason || ""))));
    renderHookHealth(h.hook_health);
    const reasons = h.health_reasons || [];
    $("#health-reasons").replaceChildren(...(reasons.length ? reasons.map((r) => el("li", {}, r)) : [el("li", { class: "muted" }, "nothing to report")]));
    // Only the isolation action that applies now is offered (the server decides which).
    $("#act-isolate").hidden = !h.isolation_actions.includes("isolate");
    $("#act-unisolate").hidden = !h.isolation_actions.includes("unisolate");
  };
  // A live update can overtake a reload's answer (an action that succeeds while the list is
  // being read): what came live after the reload asked is kept, not put back to the older state.
  let liveSeq = 0, hostLiveAt = 0;
  const actionLiveAt = new Map();
  const load = async () => {
    const asOf = liveSeq;
    const h = await api("GET", "/api/v1/hosts/" + encodeURIComponent(hostKey));
    if (hostLiveAt <= asOf) renderHost(h);
    const acts = await api("GET", "/api/v1/actions" + query({ host: h.sensor_id, limit: 50 }));
    const tbody = $("#host-actions tbody");
    const newer = (id) => (actionLiveAt.get(id) || 0) > asOf;
    const kept = (id) => tbody.querySelector(`tr[data-command-id="${CSS.escape(id)}"]`);
    const listed = new Set(acts.items.map((c) => c.command_id));
    const onlyLive = [...actionLiveAt.keys()].filter((id) => newer(id) && !listed.has(id)).map(kept);
    tbody.replaceChildren(...onlyLive.filter(Boolean),
      ...acts.items.map((c) => (newer(c.command_id) && kept(c.command_id)) || actionRow(c, false)));
  };
  document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", async () => {
    // Reloaded at once so a pending isolate shows as "isolating" with Unisolate offered.
    try { if (await requestAction(sensorId, b.dataset.action, {})) await load(); } catch (err) { toast(err.message, "bad"); }
  }));
  $("#kill-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = formParams(e.target);
    try { await requestAction(sensorId, "kill", { pid: Number(p.pid), tree: !!p.tree }); } catch (err) { toast(err.message, "bad"); }
  });
  $("#quarantine-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await requestAction(sensorId, "quarantine", { path: formParams(e.target).path }); } catch (err) { toast(err.message, "bad"); }
  });
  onLive("host", (h) => { if (h.sensor_id === sensorId) { hostLiveAt = ++liveSeq; renderHost(h); } });
  onLive("action", (c) => {
    if (c.sensor_id !== sensorId) return;
    actionLiveAt.set(c.command_id, ++liveSeq);
    upsertRow($("#host-actions tbody"), "command-id", c.command_id, actionRow(c, false));
  });
  load().catch((err) => { $("#host-title").textContent = err.message; });
};

pages.events = () => {
  const form = $("#event-filters");
  const detail = $("#event-detail");
  const load = async (offset) => {
    const p = formParams(form);
    const params = { host: p.host, class_uid: p.class_uid, pid: p.pid, process_name: p.process_name, q: p.q, offset: offset || 0 };
    if (p.since) params.since_ms = new Date(p.since).getTime();
    if (p.until) params.until_ms = new Date(p.until).getTime();
    try {
      exportLink("#events-export", "/api/v1/events", params);
      const page = await api("GET", "/api/v1/events" + query(params));
      $("#events-table tbody").replaceChildren(...page.items.map((ev) => el("tr", { onclick: () => { detail.hidden = false; detail.textContent = JSON.stringify(ev.event, null, 2); } },
        el("td", {}, fmtTime(ev.time_ms)), el("td", {}, ev.hostname || ev.sensor_id), el("td", {}, ev.class_name || ev.class_uid),
        el("td", {}, ev.pid === null ? "" : el("a", { href: "#", onclick: (e) => { e.preventDefault(); form.pid.value = ev.pid; form.host.value = ev.sensor_id; load(0); } }, ev.pid)),
        el("td", {}, ev.process_name), el("td", {}, eventSummary(ev)))));
      $("#events-empty").hidden = page.items.length > 0;
      pager($("#events-pager"), page, load);
    } catch (err) { toast(err.message, "bad"); }
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(0); });
  load(0);
};

pages.rules = () => {
  const form = $("#rule-filters");
  const load = async (offset) => {
    const page = await api("GET", "/api/v1/rules" + query({ ...formParams(form), offset: offset || 0 }));
    $("#rules-total").textContent = `${page.total} rules match; ${page.errors.length} failed to load.`;
    $("#rules-table tbody").replaceChildren(...page.items.map((r) => {
      const box = el("input", { type: "checkbox", disabled: !perms.has("rules:write"), "aria-label": "enabled" });
      box.checked = r.enabled;
      box.addEventListener("change", async () => {
        try { await api("PUT", `/api/v1/rules/${encodeURIComponent(r.id)}/enabled`, { enabled: box.checked }); toast((box.checked ? "Enabled " : "Disabled ") + r.title); } catch (err) { box.checked = !box.checked; toast(err.message, "bad"); }
      });
      const ls = Object.values(r.logsource).filter(Boolean).join(" / ");
      return el("tr", {}, el("td", {}, r.level), el("td", { title: r.id }, el("a", { href: "/rules/" + encodeURIComponent(r.id) }, r.title), r.pending_reload ? " (after reload)" : ""), el("td", {}, ls), el("td", {}, r.tags.join(" ")), el("td", {}, box));
    }));
    pager($("#rules-pager"), page, load);
    $("#rule-failures").replaceChildren(...page.errors.slice(0, 200).map((f) => el("li", {}, `${f.path} ${f.rule_id || ""}: ${f.reason}`)));
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(0); });
  $("#rule-upload").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#rule-errors").replaceChildren();
    try {
      const r = await api("POST", "/api/v1/rules", formParams(e.target));
      toast("Uploaded " + r.ids.join(", "));
      e.target.reset();
      load(0);
    } catch (err) {
      const errs = (err.data && err.data.detail && err.data.detail.errors) || [err.message];
      $("#rule-errors").replaceChildren(...errs.map((m) => el("li", {}, m)));
    }
  });
  load(0);
};

// A reference becomes a link only when it is a web address: a rule's author chose the text, and
// a javascript: or data: URL would run in the console when clicked.
const webLink = (text) => /^https?:\/\//i.test(text) ? el("a", { href: text, rel: "noreferrer noopener", target: "_blank" }, text) : text;

pages.rule = () => {
  const id = $("#rule").dataset.ruleId;
  api("GET", "/api/v1/rules/" + encodeURIComponent(id)).then((r) => {
    $("#rule-title").replaceChildren(r.title);
    const facts = [["Id", r.id], ["Level", r.level], ["Status", r.status || "—"],
      ["Logsource", Object.values(r.logsource).filter(Boolean).join(" / ")], ["Tags", r.tags.join(" ") || "—"],
      ["Enabled", r.enabled ? "yes" : "no"], ["File", r.path || "uploaded"]];
    $("#rule-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    $("#rule-description").textContent = r.description || "—";
    $("#rule-references").replaceChildren(...(r.references || []).map((ref) => el("li", {}, webLink(ref))));
  }, (err) => { $("#rule-title").textContent = err.message; });
};

pages.users = () => {
  const load = async () => {
    const users = await api("GET", "/api/v1/users?limit=500");
    $("#users-table tbody").replaceChildren(...users.items.map((u) => {
      const role = el("select", { "aria-label": "role" }, ["viewer", "analyst", "admin"].map((r) => el("option", { selected: r === u.role }, r)));
      role.addEventListener("change", async () => { try { await api("PATCH", "/api/v1/users/" + encodeURIComponent(u.name), { role: role.value }); toast("Role changed"); } catch (err) { toast(err.message, "bad"); load(); } });
      const del = el("button", { type: "button", onclick: async () => { if (!confirm("Remove " + u.name + "?")) return; try { await api("DELETE", "/api/v1/users/" + encodeURIComponent(u.name)); load(); } catch (err) { toast(err.message, "bad"); } } }, "Remove");
      return el("tr", {}, el("td", {}, u.name), el("td", {}, role), el("td", {}, fmtTime(u.created_ms)), el("td", {}, del));
    }));
  };
  $("#user-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = formParams(e.target);
    if (!p.password) delete p.password;
    try {
      const u = await api("POST", "/api/v1/users", p);
      $("#user-result").textContent = u.password ? `Created ${u.name}. Password (shown once): ${u.password}` : `Created ${u.name}.`;
      e.target.reset();
      load();
    } catch (err) { $("#user-result").textContent = err.message; }
  });
  load();
};

pages.audit = () => {
  const form = $("#audit-filters");
  const load = async (offset) => {
    exportLink("#audit-export", "/api/v1/audit", formParams(form));
    const page = await api("GET", "/api/v1/audit" + query({ ...formParams(form), offset: offset || 0 }));
    $("#audit-table tbody").replaceChildren(...page.items.map((a) => el("tr", {},
      el("td", {}, fmtTime(a.time_ms)), el("td", {}, a.actor), el("td", {}, a.action), el("td", {}, a.target),
      el("td", {}, a.host), el("td", {}, a.command_state ? `${a.result} → ${a.command_state}` : a.result))));
    pager($("#audit-pager"), page, load);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(0); });
  load(0);
};
