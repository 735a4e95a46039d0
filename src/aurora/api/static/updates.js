// Updates page: stage a rollout from the form (the package file is the request body, as for
// `aurora update`); the list below is rendered by the server, so a reload shows the new rollout.
"use strict";

pages.updates = () => {
  const form = $("#rollout-form");
  if (!form || form.hidden) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#rollout-error").textContent = "";
    const file = $("#rollout-package").files[0];
    const query = new URLSearchParams({
      percent: $("#rollout-percent").value,
      confirm_within_s: $("#rollout-confirm").value,
    });
    if ($("#rollout-all").checked) query.set("all", "true");
    for (const h of $("#rollout-hosts").value.split(/\s+/).filter(Boolean)) query.append("host", h);
    const resp = await fetch("/api/v1/rollouts?" + query, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/octet-stream" },
      body: file,
    });
    if (resp.ok) {
      location.reload();
      return;
    }
    const data = await resp.json().catch(() => ({}));
    const detail = data.detail;
    $("#rollout-error").textContent =
      typeof detail === "string" ? detail : (detail && detail.message) || resp.statusText;
  });
};
