// revkv's page, enhanced: live updates from the watch stream, a live indicator that
// reconnects by itself, "/" to filter, a confirmation before deleting. Everything
// works without it; it only re-fetches the page that is already on the screen.
"use strict";

(function () {
  const body = document.body;
  const indicator = document.getElementById("live");
  const notice = document.getElementById("notice");
  let source = null;
  let lastRev = body.dataset.rev || "";
  let retry = 500;
  let refreshing = null;

  function state(name, text) {
    if (!indicator) return;
    indicator.dataset.state = name;
    indicator.textContent = text;
  }

  function say(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  // Swap in the freshly rendered region, unless the user is typing in it.
  async function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        const answer = await fetch(location.href, { credentials: "same-origin" });
        if (!answer.ok) return;
        const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
        const fresh = doc.getElementById("live-region");
        const region = document.getElementById("live-region");
        const active = document.activeElement;
        if (fresh && region && !(active && region.contains(active) && active.matches("input, textarea"))) {
          region.replaceWith(fresh);
          enhance(fresh);
        }
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  function changed(event) {
    const data = JSON.parse(event.data);
    const commit = data.commit;
    if (event.lastEventId) lastRev = event.lastEventId;
    const key = body.dataset.liveKey;
    if (key && commit && commit.key !== key) return;
    if (body.dataset.editing) {
      if (commit) {
        const what = event.type === "put" ? "saved version " + commit.version : event.type + "d it (version " + commit.version + ")";
        say((commit.author || "someone") + " " + what + " while you edit: saving will show you both.");
      }
      return;
    }
    refresh();
  }

  function connect() {
    const params = new URLSearchParams({ ns: body.dataset.liveNs });
    if (body.dataset.livePrefix) params.set("prefix", body.dataset.livePrefix);
    if (lastRev) params.set("since", lastRev);
    state("connecting", "connecting…");
    source = new EventSource("/ui/live?" + params);
    source.onopen = () => {
      const wasDown = indicator && indicator.dataset.state === "down";
      retry = 500;
      state("live", "live");
      if (wasDown && !body.dataset.editing) refresh();
    };
    for (const type of ["put", "delete", "expire", "reset"]) source.addEventListener(type, changed);
    source.addEventListener("shutdown", () => { source.close(); down(); });
    source.onerror = () => {
      // The browser retries by itself after a dropped stream, but not after an error
      // answer; either way say so, and take over the retrying.
      source.close();
      down();
    };
  }

  function down() {
    state("down", "offline, reconnecting");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  }

  function enhance(root) {
    for (const form of root.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (e) => { if (!confirm(form.dataset.confirm)) e.preventDefault(); });
    }
  }

  document.addEventListener("keydown", (e) => {
    const typing = e.target.matches && e.target.matches("input, textarea, select");
    if (e.key === "/" && !typing) {
      const box = document.getElementById("filter");
      if (box) { e.preventDefault(); box.focus(); box.select(); }
    }
  });

  enhance(document);
  if (body.dataset.liveNs && window.EventSource) connect();
})();
