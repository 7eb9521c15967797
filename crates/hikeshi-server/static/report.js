// The report form's proof of work: find a number whose SHA-256 with the challenge starts with
// the required zero bits, while the reporter types. Only then is the form sent.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var bits = parseInt(form.getAttribute("data-bits"), 10) || 0;
  var challenge = document.getElementById("challenge").value;
  var proof = document.getElementById("proof");
  var status = document.getElementById("pow-status");
  var solved = false;
  var waiting = false;

  function zeroBits(bytes) {
    var n = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { n += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { n += 1; b <<= 1; }
      break;
    }
    return n;
  }

  function search(start) {
    var enc = new TextEncoder();
    var tries = [];
    for (var k = 0; k < 256; k++) {
      tries.push(crypto.subtle.digest("SHA-256", enc.encode(challenge + ":" + (start + k))));
    }
    return Promise.all(tries).then(function (digests) {
      for (var k = 0; k < digests.length; k++) {
        if (zeroBits(new Uint8Array(digests[k])) >= bits) { return start + k; }
      }
      return search(start + 256);
    });
  }

  search(0).then(function (n) {
    proof.value = String(n);
    solved = true;
    status.textContent = status.getAttribute("data-ready") || "";
    status.hidden = true;
    if (waiting) { form.submit(); }
  });

  form.addEventListener("submit", function (e) {
    if (!solved) {
      e.preventDefault();
      waiting = true;
    }
  });
})();
