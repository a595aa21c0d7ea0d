// Prompt Gallery's own script: copy buttons and confirmations for plain forms.
// No inline handlers anywhere, so the pages work under a strict Content-Security-Policy.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP origins have no async clipboard: fall back to a hidden textarea.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

function say(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(button._sayTimer);
  button._sayTimer = setTimeout(() => { button.textContent = original; }, 1500);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  copyText(button.dataset.copy).then(
    () => say(button, "Copied"),
    () => say(button, "Copy failed"),
  );
});

// The sort menu offers the orders of the listing shown, as the server's table lists them
// in data-menus: a search's ("Best match" first) while there are words to match, all
// prompts' otherwise. An order the new listing lacks becomes its default, and so does
// the old listing's default unless the visitor chose it. This runs on the same input
// event before htmx's delayed request reads the form.
document.addEventListener("input", (event) => {
  const q = event.target.closest("#search input[name=q]");
  if (!q) return;
  const sort = q.form.elements.sort;
  const listing = q.value.trim() !== "" ? "search" : "list";
  if (sort.dataset.listing === listing) return;
  const menus = JSON.parse(sort.dataset.menus);
  const keys = menus[listing].map(([key]) => key);
  const value = sort.value;
  const wasDefault = value === menus[sort.dataset.listing][0][0];
  for (const option of [...sort.options]) {
    if (!keys.includes(option.value)) option.remove();
  }
  menus[listing].forEach(([key, label], index) => {
    if (![...sort.options].some((option) => option.value === key)) {
      sort.add(new Option(label, key), index);
    }
  });
  if (!keys.includes(value) || (wasDefault && !sort.dataset.chosen)) sort.value = keys[0];
  sort.dataset.listing = listing;
});

document.addEventListener("change", (event) => {
  if (event.target.matches("#search select[name=sort]")) event.target.dataset.chosen = "yes";
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Admin import: one request per file, so each result shows as soon as that file is done.
// Without JavaScript the form posts every file at once and the page lists the results.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form#upload");
  if (!form || !window.fetch) return;
  event.preventDefault();
  const input = form.querySelector("input[type=file]");
  const list = document.getElementById("upload-results");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  for (const file of input.files) {
    const data = new FormData();
    data.append("csrf_token", form.elements.csrf_token.value);
    data.append("model", form.elements.model.value);
    data.append("images", file, file.name);
    try {
      const answer = await fetch(form.action, {
        method: "POST", body: data, headers: { "HX-Request": "true" }, credentials: "same-origin",
      });
      const html = await answer.text();
      const reason = answer.status === 413 ? "too large" : `HTTP ${answer.status}`;
      list.insertAdjacentHTML("beforeend", answer.ok ? html : failure(file.name, reason));
    } catch (error) {
      list.insertAdjacentHTML("beforeend", failure(file.name, "network error"));
    }
  }
  button.disabled = false;
  input.value = "";
});

function failure(name, reason) {
  const item = document.createElement("li");
  item.className = "import-result failed";
  item.textContent = `${name}: failed (${reason})`;
  return item.outerHTML;
}

// A failed htmx request says so in the notice, never silently: the server's own message
// when its answer has one (an error page's p.error, the API's JSON), else the status.
// The notice becomes an alert, fixed where the visitor is looking, until the next success.
function showFailure(text) {
  const notice = document.getElementById("notice");
  if (!notice) return;
  const line = document.createElement("p");
  line.textContent = text;
  notice.replaceChildren(line);
  notice.classList.add("failed");
  notice.setAttribute("role", "alert");
  notice.setAttribute("aria-live", "assertive");
}

function serverMessage(xhr) {
  const type = xhr.getResponseHeader("Content-Type") || "";
  try {
    if (type.includes("json")) return JSON.parse(xhr.responseText).error.message;
    if (type.includes("html")) {
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const message = page.querySelector("main .error");
      if (message && message.textContent.trim()) return message.textContent.trim();
    }
  } catch (error) {
    // Not the answer we expected: fall back to the status below.
  }
  return null;
}

document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const message = serverMessage(xhr);
  showFailure(message ? `Error: ${message}` : `The request failed (HTTP ${xhr.status}); try again.`);
});

document.addEventListener("htmx:sendError", () => {
  showFailure("Could not reach the gallery; check the connection and try again.");
});

document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) return;
  const notice = document.getElementById("notice");
  if (notice && notice.classList.contains("failed")) {
    notice.replaceChildren();
    notice.classList.remove("failed");
    notice.setAttribute("role", "status");
    notice.setAttribute("aria-live", "polite");
  }
});
