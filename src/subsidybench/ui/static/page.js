// The page works without this script; it only keeps empty fields out of the URL (so a URL
// holds the flags given, nothing else) and uploads run files to this server.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("question");
  if (!form) return;
  form.addEventListener("submit", () => {
    for (const el of form.elements) {
      if (el.name && (el.value === "" || (el.type === "checkbox" && !el.checked))) {
        el.disabled = true;
      }
    }
    // Re-enabled when the page is shown again from the back button's cache.
    window.addEventListener("pageshow", () => { for (const el of form.elements) el.disabled = false; }, { once: true });
  });
  for (const input of form.querySelectorAll("input[data-upload]")) {
    input.addEventListener("change", async () => {
      const field = input.closest(".field");
      const shown = field.querySelector(".uploaded");
      let error = field.querySelector(".error");
      if (error) error.remove();
      for (const file of input.files) {
        const reply = await fetch("/upload?name=" + encodeURIComponent(file.name), { method: "POST", body: file });
        if (!reply.ok) {
          error = document.createElement("p");
          error.className = "error";
          error.setAttribute("role", "alert");
          error.textContent = (await reply.text()).trim();
          field.appendChild(error);
          continue;
        }
        const got = await reply.json();
        const span = document.createElement("span");
        span.textContent = got.name + " ";
        const hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = input.dataset.upload;
        hidden.value = got.id;
        span.appendChild(hidden);
        shown.appendChild(span);
      }
    });
  }
});
