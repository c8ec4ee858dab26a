/* The top-up result page (wallet/top_up_result.html): pending -> paid without a reload loop.
 *
 * While the top-up is pending the page carries data-poll-url (the JSON API's
 * GET /api/v1/wallet/top-ups/<id>/, which asks the channel). This script asks
 * it every few seconds, a bounded number of times, and reloads the page once
 * when the status is no longer pending; it never reloads a pending page.
 * Without JavaScript the Refresh link does the same by hand.
 */
(function () {
  "use strict";
  var card = document.querySelector("[data-poll-url]");
  if (!card || !window.fetch) return;
  var url = card.getAttribute("data-poll-url");
  var tries = 0;
  var MAX_TRIES = 90; // about 3 minutes at 2 s
  function ask() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.status && body.status !== "pending") {
          window.location.reload(); // once: the reloaded page is not pending, so no script runs there
        } else if (tries < MAX_TRIES) {
          window.setTimeout(ask, 2000);
        }
      })
      .catch(function () { if (tries < MAX_TRIES) window.setTimeout(ask, 4000); });
  }
  window.setTimeout(ask, 1000);
})();
