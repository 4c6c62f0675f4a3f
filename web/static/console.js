/* On every page of the console. The language links carry the page's path and query; the
   #fragment stays in the browser, so it is added to the link as it is followed. An error
   page's "Back" goes back to the console's page before it, if there is one; its link (the
   start page) otherwise. The account menu in the top bar closes like any menu. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const link = event.target instanceof Element ? event.target.closest("a") : null;
    if (!link) return;
    if (link.hasAttribute("data-lang") && window.location.hash) {
      const url = new URL(link.href);
      url.searchParams.set("next", (url.searchParams.get("next") || "/") + window.location.hash);
      link.href = url.toString();
    } else if (link.hasAttribute("data-back") && cameFromHere()) {
      event.preventDefault();
      window.history.back();
    }
  });

  // The account menu closes as other menus do: on a click elsewhere, or on Escape.
  const account = document.getElementById("user-menu");
  if (account) {
    document.addEventListener("click", function (event) {
      if (account.open && !(event.target instanceof Node && account.contains(event.target))) account.open = false;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !account.open) return;
      account.open = false;
      account.querySelector("summary").focus();
    });
  }

  // Whether the page before this one in the tab is one of the console's (the Navigation
  // API lists only this site's entries; without it, any page before).
  function cameFromHere() {
    if (window.navigation) return window.navigation.canGoBack;
    return window.history.length > 1;
  }
})();
