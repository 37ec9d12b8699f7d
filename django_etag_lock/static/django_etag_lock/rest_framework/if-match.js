// django-etag-lock: the browsable API's PUT, PATCH and DELETE forms send the ETag of the
// representation this page shows in If-Match, so a write based on it is checked against
// the version it was based on (412 if someone changed it since) instead of refused (428).
(function ($) {
  var element = document.getElementById("etag-lock-if-match");
  if (!$ || !element) {
    return;
  }
  var tag = JSON.parse(element.textContent);
  var conditional = { PUT: true, PATCH: true, DELETE: true };
  $(document).ajaxSend(function (event, xhr, settings) {
    var method = String(settings.type || settings.method || "GET").toUpperCase();
    if (conditional[method]) {
      xhr.setRequestHeader("If-Match", tag);
    }
  });
})(window.jQuery);
