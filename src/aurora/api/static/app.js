// Aurora console, shared part: DOM and API helpers, the live stream (/api/v1/stream), the login
// page, and the dispatch to each page's filler in pages.js. No framework and no build step: the
// pages are simple tables, and every value is inserted as text (never as HTML), so event data
// cannot inject markup.
"use strict";

const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const perms = new Set((document.body.dataset.perms || "").split(" ").filter(Boolean));
const $ = (sel, root) => (root || document).querySelector(sel);
const SEVERITY = ["unknown", "informational", "low", "medium", "high", "critical", "fatal"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

function toast(message, kind) {
  const t = $("#toast");
  if (!t) return;
  t.textContent = message;
  t.className = "show " + (kind || "");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ""; }, 5000);
}

async function api(method, path, body) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  if (resp.status === 401 && document.body.dataset.page !== "login") {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("logged out");
  }
  const data = resp.headers.get("content-type", "").includes("json") ? await resp.json() : null;
  if (!resp.ok) {
    const detail = data && data.detail;
    const msg = typeof detail === "string" ? detail : (detail && detail.message) || resp.statusText;
    const err = new Error(msg);
    err.data = data;
    err.status = resp.status;
    throw err;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

// The page's "Export CSV" link follows its filters, so the download holds what is on screen.
function exportLink(selector, path, params) {
  const link = $(selector);
  if (link) link.href = path + query({ ...params, offset: undefined, limit: undefined, format: "csv" });
}

function formParams(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function hideUnlessAllowed() {
  document.querySelectorAll("[data-needs]").forEach((n) => {
    if (!perms.has(n.dataset.needs)) n.hidden = true;
  });
}

function pager(container, page, load) {
  container.replaceChildren();
  if (page.offset > 0) container.append(el("button", { type: "button", onclick: () => load(Math.max(0, page.offset - page.limit)) }, "← Newer"));
  if (page.next_offset !== null && page.next_offset !== undefined) container.append(el("button", { type: "button", onclick: () => load(page.next_offset) }, "Older →"));
}

function sevBadge(id) {
  const name = SEVERITY[id] || "unknown";
  return el("span", { class: "sev sev-" + name }, name);
}

function eventSummary(ev) {
  const e = ev.event || {};
  const p = e.process || {};
  if (e.class_uid === 1007) return p.cmd_line || (p.file || {}).path || "";
  if (e.class_uid === 4001 || e.class_uid === 4003) {
    const d = e.dst_endpoint || {};
    const q = (e.query || {}).hostname;
    return q ? "query " + q : (d.ip || "") + (d.port ? ":" + d.port : "");
  }
  if (e.class_uid === 1001) return (e.activity_name || "") + " " + ((e.file || {}).path || "");
  return e.message || e.activity_name || "";
}

// --- live updates ------------------------------------------------------------------------------

const live = { handlers: {} };
function onLive(kind, fn) { (live.handlers[kind] = live.handlers[kind] || []).push(fn); }
function startLive() {
  if (!window.EventSource || document.body.dataset.page === "login") return;
  const dot = $("#live-status");
  const src = new EventSource("/api/v1/stream");
  src.onopen = () => { if (dot) { dot.classList.add("on"); dot.title = "live updates: connected"; } };
  src.onerror = () => { if (dot) { dot.classList.remove("on"); dot.title = "live updates: reconnecting"; } };
  for (const kind of ["alert", "host", "action"]) {
    src.addEventListener(kind, (m) => {
      const data = JSON.parse(m.data);
      (live.handlers[kind] || []).forEach((fn) => fn(data));
    });
  }
  live.source = src;
}

// --- pages -------------------------------------------------------------------------------------

const pages = {};

pages.login = () => {
  const form = $("#login-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#login-error").textContent = "";
    try {
      await api("POST", "/api/v1/login", formParams(form));
      const next = new URLSearchParams(location.search).get("next") || "/alerts";
      // Only same-site paths: an attacker-supplied ?next=//evil must not redirect off-site.
      location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/alerts";
    } catch (err) {
      $("#login-error").textContent = err.message;
    }
  });
};

document.addEventListener("DOMContentLoaded", () => {
  hideUnlessAllowed();
  const logout = $("#logout");
  if (logout) logout.addEventListener("click", async () => {
    try { await api("POST", "/api/v1/logout"); } finally { location.href = "/login"; }
  });
  const page = document.body.dataset.page;
  if (pages[page]) pages[page]();
  startLive();
});
