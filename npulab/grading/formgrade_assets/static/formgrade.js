// The grading page's keyboard navigation and autosave (npulab.grading.formgrade).
// j / k or ArrowDown / ArrowUp: next / previous answer (outside a comment box);
// Enter: save and go to the next answer (Shift+Enter: a new line in a comment); Esc: leave a field.
(function () {
  "use strict";
  const root = document.getElementById("grading");
  if (!root) { return; }
  const token = document.querySelector("meta[name=npulab-token]").content;
  const cards = Array.from(document.querySelectorAll(".answer"));
  const progress = document.getElementById("progress");
  let current = -1;
  const timers = new Map();

  function select(i, focusField) {
    if (!cards.length) { return; }
    i = Math.max(0, Math.min(cards.length - 1, i));
    if (current >= 0) { cards[current].classList.remove("current"); }
    current = i;
    const card = cards[i];
    card.classList.add("current");
    card.scrollIntoView({ block: "nearest" });
    if (focusField) { card.querySelector("input.points").focus(); } else { card.focus(); }
  }

  function label(card, text) {
    card.querySelector(".status").textContent = text;
  }

  // One save at a time per answer, each sending the fields as they are when it starts, so the
  // last one to reach the server always carries the latest text.
  const queues = new Map();
  function save(card) {
    const run = (queues.get(card) || Promise.resolve()).then(function () { return send(card); });
    queues.set(card, run.catch(function () { return false; }));
    return run;
  }

  async function send(card) {
    const points = card.querySelector("input.points").value.trim();
    if (points === "") {
      if (card.querySelector("textarea.comment").value.trim() !== "") { label(card, root.dataset.needPoints); }
      return false;
    }
    const form = card.querySelector("form.mark");
    const body = new URLSearchParams(new FormData(form));
    card.dataset.state = "saving";
    label(card, root.dataset.saving);
    let response, data;
    try {
      response = await fetch(root.dataset.saveUrl, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-Npulab-Token": token, "Accept": "application/json" },
      });
      data = await response.json();
    } catch (err) {
      card.dataset.state = "error";
      label(card, String(err));
      return false;
    }
    if (!response.ok) {
      card.dataset.state = "error";
      label(card, data.error || response.statusText);
      return false;
    }
    card.dataset.state = data.state;
    card.querySelector(".state").textContent = data.state === "stale" ? root.dataset.stale : root.dataset.graded;
    label(card, root.dataset.saved);
    progress.textContent = data.progress;
    return true;
  }

  function saveSoon(card, delay) {
    clearTimeout(timers.get(card));
    timers.set(card, setTimeout(function () { save(card); }, delay));
  }

  cards.forEach(function (card, i) {
    const form = card.querySelector("form.mark");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(timers.get(card));
      save(card);
    });
    card.addEventListener("focusin", function () {
      if (current !== i) { if (current >= 0) { cards[current].classList.remove("current"); } current = i; card.classList.add("current"); }
    });
    form.querySelectorAll("input.points, textarea.comment").forEach(function (field) {
      field.addEventListener("input", function () { saveSoon(card, 800); });
      field.addEventListener("change", function () { saveSoon(card, 0); });
    });
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    const target = ev.target;
    const inComment = target.matches && target.matches("textarea");
    const inPoints = target.matches && target.matches("input.points");
    if (ev.key === "Escape") { if (current >= 0) { cards[current].focus(); } return; }
    if (ev.key === "Enter" && (inPoints || (inComment && !ev.shiftKey))) {
      ev.preventDefault();
      const card = target.closest(".answer");
      clearTimeout(timers.get(card));
      save(card).then(function (ok) { if (ok) { select(cards.indexOf(card) + 1, true); } });
      return;
    }
    if (inComment || (target.matches && target.matches("input:not(.points)"))) { return; }
    const next = ev.key === "j" || (ev.key === "ArrowDown" && !inPoints);
    const prev = ev.key === "k" || (ev.key === "ArrowUp" && !inPoints);
    if (next || prev) {
      ev.preventDefault();
      select(current < 0 ? 0 : current + (next ? 1 : -1), true);
    }
  });

  select(Math.max(0, cards.findIndex(function (c) { return c.dataset.state === "pending" || c.dataset.state === "stale"; })), false);
})();
