// dibs dashboard: the conveniences that need a script — a "select every order on this page"
// checkbox, a count of the selected orders, and focus moved to an action's dry run when htmx
// swaps it in (it appears above the buttons; a keyboard user would otherwise Tab away from its
// Confirm). Everything works without it.
(function () {
  function wire(root) {
    var all = root.querySelector("#select-page");
    var count = root.querySelector("#selected-count");
    if (!all || all.dataset.wired) return;
    all.dataset.wired = "1";
    var boxes = function () { return root.querySelectorAll('input[name="ids"][type="checkbox"]'); };
    var show = function () {
      var n = 0;
      boxes().forEach(function (b) { if (b.checked) n++; });
      all.checked = n > 0 && n === boxes().length;
      all.indeterminate = n > 0 && n < boxes().length;
      if (count) { count.hidden = false; count.textContent = "(" + n + ")"; }
    };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      show();
    });
    boxes().forEach(function (b) { b.addEventListener("change", show); });
    show();
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  function focusPanel(evt) {
    var config = evt.detail && evt.detail.requestConfig;
    if (!config || !config.headers || config.headers["HX-Target"] !== "action-panel") return;
    var panel = document.getElementById("action-panel");
    if (panel && panel.hasAttribute("tabindex")) panel.focus();
  }
  document.addEventListener("htmx:afterSettle", function (evt) {
    wire(document);
    focusPanel(evt);
  });
})();
