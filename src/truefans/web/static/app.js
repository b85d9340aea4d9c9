/* Upload with drag and drop: send the files, show the upload progress, then poll the import job
   and show each file's summary and its rejected rows. On a slow analysis's page: poll its
   background job, show the progress, and show the page again when the result is ready. */
(function () {
  "use strict";
  var box = document.getElementById("analysis-job");
  if (!box) { return; }
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-label");
  var id = box.getAttribute("data-job");
  function poll() {
    fetch("/api/v1/jobs/" + id, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("job " + id + ": HTTP " + r.status); }
      return r.json();
    }).then(function (job) {
      box.setAttribute("data-status", job.status);
      if (job.status === "done" || job.status === "failed") {
        bar.value = 100;
        label.textContent = job.status === "done" ? "Done: showing the result…" : "Failed: showing why…";
        window.location.reload();
        return;
      }
      if (job.progress !== null) { bar.value = Math.round(100 * job.progress); }
      label.textContent = job.status === "queued" ?
        "Queued behind " + job.queued_ahead + " other job(s)…" :
        "Computing: " + job.elapsed_seconds.toFixed(0) + " s" +
        (job.expected_seconds ? " of about " + job.expected_seconds.toFixed(0) + " s (the last run)" : "") + "…";
      setTimeout(poll, 1000);
    }).catch(function (err) { label.textContent = String(err); setTimeout(poll, 3000); });
  }
  poll();
})();
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var input = document.getElementById("files");
  var zone = document.getElementById("dropzone");
  var box = document.getElementById("progress-box");
  var bar = document.getElementById("progress");
  var label = document.getElementById("progress-label");
  var summary = document.getElementById("summary");
  var csrf = document.querySelector("meta[name=csrf-token]").content;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function show(job) {
    summary.textContent = "";
    var table = el("table"); table.id = "import-summary";
    var head = el("tr");
    ["file", "source", "table", "rows", "added", "updated", "skipped", "rejected", "status", "message"].forEach(function (c) {
      head.appendChild(el("th", c));
    });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    job.reports.forEach(function (r) {
      var tr = el("tr"); tr.setAttribute("data-file", r.file);
      ["file", "source", "table", "rows", "added", "updated", "skipped", "rejected", "status", "message"].forEach(function (c) {
        var v = r[c] === undefined || r[c] === null ? "" : String(r[c]);
        tr.appendChild(el("td", v, c === "status" ? "status-" + v : undefined));
      });
      body.appendChild(tr);
      (r.rejects || []).forEach(function (x) {
        var rj = el("tr", undefined, "reject");
        var td = el("td", "row " + x.row + (x.column ? ", column " + x.column : "") + ": " + x.reason);
        td.colSpan = 10; rj.appendChild(td); body.appendChild(rj);
      });
    });
    table.appendChild(body);
    summary.appendChild(table);
    if (job.error) { summary.appendChild(el("p", job.error, "error")); }
  }

  function poll(id) {
    fetch("/upload/jobs/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (job) {
      var pct = job.total ? Math.round(100 * job.done / job.total) : 100;
      bar.value = pct;
      label.textContent = job.finished ? "Imported " + job.done + " of " + job.total + " file(s)." :
        "Importing " + (job.current || "") + " (" + job.done + " of " + job.total + " done)…";
      show(job);
      if (!job.finished) { setTimeout(function () { poll(id); }, 400); }
      else { summary.setAttribute("data-finished", "1"); }
    });
  }

  function send(files) {
    if (!files.length) { return; }
    var data = new FormData();
    for (var i = 0; i < files.length; i++) { data.append("files", files[i], files[i].name); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    box.hidden = false; bar.value = 0; label.textContent = "Uploading…";
    summary.removeAttribute("data-finished");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    };
    xhr.onload = function () {
      var job;
      try { job = JSON.parse(xhr.responseText); } catch (err) { job = { error: xhr.statusText, reports: [] }; }
      if (job.job === undefined) {
        label.textContent = job.error || ("upload failed (" + xhr.status + ")");
        summary.setAttribute("data-finished", "1");
        return;
      }
      bar.value = 0;
      poll(job.job);
    };
    xhr.send(data);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); send(input.files); });
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) { send(e.dataTransfer.files); });
})();
