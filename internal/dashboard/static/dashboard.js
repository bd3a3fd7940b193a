// The Dashboard's behaviour that needs a script: conditional fields,
// confirmations, and the CSRF token on htmx requests. Every page works
// without it.
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  function valueOf(form, name) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    var v = "";
    els.forEach(function (el) {
      if (el.type === "checkbox") { if (el.checked) v = el.value; }
      else if (el.type === "hidden" && els.length > 1) { if (v === "") v = el.value; }
      else v = el.value;
    });
    return v;
  }
  function refresh(form) {
    form.querySelectorAll("[data-when]").forEach(function (el) {
      var allowed = el.getAttribute("data-when-values").split("|");
      el.hidden = allowed.indexOf(valueOf(form, el.getAttribute("data-when"))) < 0;
    });
  }
  document.addEventListener("change", function (e) {
    var form = e.target.form;
    if (form) refresh(form);
  });
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(refresh);
  });
})();
