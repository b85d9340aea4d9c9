"""The local web app: server-rendered pages (Jinja2, the report's sections), a JSON API under
``/api/v1/`` that returns exactly the CLI's ``--format json`` object, and upload of export files
through the workspace's import path.

One workspace connection serves every request; analyses and imports take turns on it (a lock), and
each result is kept (by analysis, options and the workspace's import generation) so pages and API
calls after the first are answered from memory. An import empties that memory.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import InvalidOption, TruefansError
from ..measure.result import Result
from ..report import render as report_render
from ..report.registry import SHARED_FILTERS, Analysis, available, get
from ..schema import OUTCOME_TYPES
from ..workspace import _IMPORTABLE, ImportReport, Workspace, open_workspace, resolve_path
from . import files, security

HERE = Path(__file__).parent
#: one uploaded file may be at most this large (bytes); TRUEFANS_UPLOAD_MAX_BYTES changes it
MAX_UPLOAD_BYTES = int(os.environ.get("TRUEFANS_UPLOAD_MAX_BYTES", str(512 * 1024**2)))
MAX_UPLOAD_FILES = 50
#: analysis jobs kept for polling after they finish
MAX_ANALYSIS_JOBS = 200
#: results kept in memory (each is one analysis with one set of options)
CACHE_SIZE = 64
#: binary formats; any other upload must be text (no NUL byte in its first 8 KiB)
BINARY_SUFFIXES = {".xls", ".xlsx", ".zip", ".parquet"}
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._()+ -]+")


@dataclass
class Job:
    """One upload being imported: files done of total, and each file's report."""

    id: int
    files: list[tuple[Path, str]]
    done: int = 0
    current: str | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "total": len(self.files),
            "done": self.done,
            "current": self.current,
            "finished": self.finished,
            "error": self.error,
            "reports": self.reports,
        }


@dataclass
class AnalysisJob:
    """One slow analysis (mix, plan) computed in the background while pages and clients poll."""

    id: int
    analysis: str
    key: tuple[Any, ...]
    params: dict[str, Any]
    result_url: str
    queued: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    #: how long the last run of the same analysis took (the progress estimate), if known
    expected: float | None = None

    @property
    def status(self) -> str:
        if self.finished is not None:
            return "failed" if self.error else "done"
        return "running" if self.started is not None else "queued"

    def to_dict(self, ahead: int = 0) -> dict[str, Any]:
        now = time.monotonic()
        elapsed = 0.0 if self.started is None else (self.finished or now) - self.started
        if self.finished is not None:
            progress: float | None = 1.0
        elif self.started is not None and self.expected:
            progress = min(0.95, elapsed / self.expected)
        else:
            progress = None  # unknown: nothing of this analysis has been timed yet
        return {
            "job": self.id,
            "analysis": self.analysis,
            "status": self.status,
            "queued_ahead": ahead,
            "elapsed_seconds": round(elapsed, 1),
            "expected_seconds": None if self.expected is None else round(self.expected, 1),
            "progress": progress,
            "error": self.error,
            "result": self.result_url,
        }


class State:
    """The app's workspace, its lock and the results kept in memory."""

    def __init__(self, ws: Workspace, upload_dir: Path, token: str | None) -> None:
        self.ws = ws
        self.upload_dir = upload_dir
        self.token = token
        self.lock = threading.RLock()
        self.generation = 0
        self.cache: OrderedDict[tuple[Any, ...], tuple[Result, bytes | None]] = OrderedDict()
        self.jobs: dict[int, Job] = {}
        self._next_job = int(time.time()) % 100_000 * 100
        #: errors of slow analyses, so a page or a client polling does not start them again
        self.failures: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self.analysis_jobs: OrderedDict[int, AnalysisJob] = OrderedDict()
        self._job_of_key: dict[tuple[Any, ...], AnalysisJob] = {}
        self._jobs_lock = threading.Lock()
        self.last_seconds: dict[str, float] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="truefans-analysis")

    # -- results ------------------------------------------------------------------------------
    def prepare(self, a: Analysis, params: Mapping[str, Any]) -> dict[str, Any]:
        """The options with each file option's uploaded-file name replaced by that file's path
        inside the upload folder (InvalidOption for anything else)."""
        out = dict(params)
        for o in a.options:
            v = out.get(o.flag)
            if o.file and v not in (None, ""):
                out[o.flag] = str(files.resolve(self.upload_dir, str(v), o.flag))
        return out

    def key(self, a: Analysis, params: Mapping[str, Any]) -> tuple[Any, ...]:
        stamps = []
        for o in a.options:  # a file replaced by a new upload of the same name is a new query
            v = params.get(o.flag)
            if o.file and v not in (None, ""):
                try:
                    st = Path(str(v)).stat()
                except OSError as e:  # removed since it was resolved
                    raise InvalidOption(f"--{o.flag}: the uploaded file is gone ({e})") from e
                stamps.append((o.flag, st.st_mtime_ns, st.st_size))
        return (self.generation, a.name, a.normalised(params), tuple(stamps))

    def cached_json(self, key: tuple[Any, ...]) -> bytes | None:
        hit = self.cache.get(key)
        return hit[1] if hit is not None else None

    def result(self, a: Analysis, params: Mapping[str, Any]) -> Result:
        """The analysis result (computed once per options and import generation)."""
        key = self.key(a, params)
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        with self.lock:
            key = self.key(a, params)
            hit = self.cache.get(key)
            if hit is not None:
                return hit[0]
            res = a.run(self.ws, params)
            self._store(key, res, None)
            return res

    def json_bytes(self, a: Analysis, params: Mapping[str, Any]) -> bytes:
        """The CLI's ``--format json`` object, encoded once per result."""
        res = self.result(a, params)
        key = self.key(a, params)
        hit = self.cache.get(key)
        if hit is not None and hit[1] is not None:
            return hit[1]
        body = json.dumps(res.to_dict(), indent=2).encode() + b"\n"
        self._store(key, res, body)
        return body

    # -- slow analyses as background jobs ---------------------------------------------------
    def failure(self, key: tuple[Any, ...]) -> str | None:
        return self.failures.get(key)

    def start(
        self, a: Analysis, params: dict[str, Any], key: tuple[Any, ...], url: str
    ) -> AnalysisJob:
        """The job computing this query: the one already queued or running, else a new one."""
        with self._jobs_lock:
            job = self._job_of_key.get(key)
            if job is not None:
                return job
            self._next_job += 1
            job = AnalysisJob(
                self._next_job, a.name, key, params, url, expected=self.last_seconds.get(a.name)
            )
            self._job_of_key[key] = job
            self.analysis_jobs[job.id] = job
            while len(self.analysis_jobs) > MAX_ANALYSIS_JOBS:
                old = next(iter(self.analysis_jobs.values()))
                if old.finished is None:
                    break
                self.analysis_jobs.popitem(last=False)
        self.executor.submit(self._run_analysis, a, job)
        return job

    def ahead(self, job: AnalysisJob) -> int:
        """Jobs queued or running before this one."""
        return sum(
            1 for j in list(self.analysis_jobs.values()) if j.id < job.id and j.finished is None
        )

    def _run_analysis(self, a: Analysis, job: AnalysisJob) -> None:
        job.started = time.monotonic()
        try:
            if job.key[0] == self.generation:  # an import since: the next request asks again
                self.result(a, job.params)
        except TruefansError as e:
            job.error = str(e)
            self.failures[job.key] = job.error
            while len(self.failures) > CACHE_SIZE:
                self.failures.popitem(last=False)
        except Exception as e:  # a bug: keep the server up, say so on the page, log it
            job.error = f"internal error in {a.name}: {type(e).__name__}: {e}"
            self.failures[job.key] = job.error
            from rich.console import Console

            Console(stderr=True).print_exception()
        finally:
            job.finished = time.monotonic()
            if job.error is None:
                self.last_seconds[a.name] = job.finished - job.started
            with self._jobs_lock:
                self._job_of_key.pop(job.key, None)

    def _store(self, key: tuple[Any, ...], res: Result, body: bytes | None) -> None:
        self.cache[key] = (res, body)
        self.cache.move_to_end(key)
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)

    # -- imports ------------------------------------------------------------------------------
    def new_job(self, files: list[tuple[Path, str]]) -> Job:
        with self.lock:
            self._next_job += 1
            job = Job(self._next_job, files)
            self.jobs[job.id] = job
        return job

    def run_job(self, job: Job) -> None:
        """Import the job's files one by one through the workspace's import path."""
        from rich.console import Console
        from rich.progress import Progress

        console = Console(stderr=True)
        try:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"importing {len(job.files)} file(s)", total=len(job.files))
                for path, shown in job.files:
                    job.current = shown
                    with self.lock:
                        reports = self.ws.import_files([path])
                        self.generation += 1
                        self.cache.clear()
                        self.failures.clear()
                        job.reports.extend(_report_dict(r, path, shown, self.ws) for r in reports)
                    job.done += 1
                    bar.advance(task)
                    for r in reports:
                        console.print(
                            f"imported {shown}: {r.status}, {r.added:,} added, "
                            f"{r.rejected:,} rejected",
                            highlight=False,
                        )
        except TruefansError as e:
            job.error = str(e)
        except Exception as e:  # a bug: keep the server up, show it, log the traceback
            job.error = f"internal error while importing: {type(e).__name__}: {e}"
            console.print_exception()
        finally:
            job.current = None
            job.finished = True


def _report_dict(r: ImportReport, path: Path, shown: str, ws: Workspace) -> dict[str, Any]:
    """A file's import report as the CLI's JSON line, named as the user named the file, with its
    first rejected rows (row, column, reason)."""
    d = r.to_dict()
    name = str(d["file"])
    d["file"] = shown if name == str(path) or name.startswith(str(path.parent)) else name
    d["rejects"] = []
    if r.rejected and r.source_id is not None:
        df = ws.rejects(r.source_id, limit=20)
        d["rejects"] = [
            {"row": _plain(x["row"]), "column": _plain(x["column"]), "reason": _plain(x["reason"])}
            for x in df.to_dict("records")
        ]
    return d


def _plain(v: Any) -> Any:
    from ..measure.result import plain

    return plain(v)


def safe_name(name: str) -> str:
    """A file name of our own making from a user's: the last part only, plain characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _SAFE_CHARS.sub("_", base).strip(" .")
    return base[:120] or "upload"


def _error(status: int, message: str, errors: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error": message, "status": status}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _annotation(o: Any) -> Any:
    base: Any = {str: str, int: int, float: float, date: date, bool: bool}[o.kind]
    if o.choices:
        base = Literal[o.choices]  # type: ignore[valid-type]
    return base if o.required else base | None


def _api_endpoint(state_of: Any, a: Analysis) -> Any:
    """``GET /api/v1/<name>``: the CLI's options as query parameters, the CLI's JSON back."""

    async def endpoint(request: Request, **kw: Any) -> Response:
        state: State = state_of(request)
        params = {
            o.flag: kw[_pyname(o.flag)] for o in a.options if kw.get(_pyname(o.flag)) is not None
        }
        params = state.prepare(a, params)  # a file option names an uploaded file, no path
        key = state.key(a, params)  # checks the options (InvalidOption -> 400)
        body = state.cached_json(key)
        if body is None and a.slow:
            failed = state.failure(key)
            if failed is not None:
                return _error(400, failed)
            if state.cache.get(key) is None:
                job = state.start(a, params, key, str(request.url.path) + _query(request))
                return JSONResponse(
                    job.to_dict(state.ahead(job)),
                    status_code=202,
                    headers={"Location": f"/api/v1/jobs/{job.id}", "Retry-After": "2"},
                )
        if body is None:
            body = await run_in_threadpool(state.json_bytes, a, params)
        return Response(body, media_type="application/json")

    sig = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    ]
    for o in a.options:
        extra = ""
        if o.kind is date:
            extra = " (YYYY-MM-DD)"
        elif o.file:
            extra = " (the name of a profile uploaded on the page, not a path)"
        q = Query(
            ... if o.required else o.default,
            alias=o.flag,
            description=o.help + extra,
            ge=o.ge,
            gt=o.gt,
            le=o.le,
            lt=o.lt,
        )
        sig.append(
            inspect.Parameter(
                _pyname(o.flag),
                inspect.Parameter.KEYWORD_ONLY,
                default=q,
                annotation=_annotation(o),
            )
        )
    endpoint.__signature__ = inspect.Signature(sig)  # type: ignore[attr-defined]
    endpoint.__name__ = f"api_{a.name}"
    endpoint.__doc__ = f"{a.question} Same object as `truefans {a.name} --format json`."
    return endpoint


def _query(request: Request) -> str:
    q = request.url.query
    return f"?{q}" if q else ""


def _pyname(flag: str) -> str:
    return "opt_" + flag.replace("-", "_")


def create_app(
    workspace_path: str | os.PathLike[str],
    *,
    token: str | None = None,
    upload_dir: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """The web app on the workspace at ``workspace_path``.

    ``token``: None answers loopback requests without one (for a 127.0.0.1 binding); with a token
    every page and API call needs it (Bearer header or the login cookie) except ``/login``.
    ``upload_dir``: where uploaded files are kept (default: ``<workspace>-uploads`` beside it).
    """
    ws = open_workspace(workspace_path, create=False)
    ws_path = Path(ws.path).resolve()
    updir = Path(upload_dir) if upload_dir else ws_path.with_name(ws_path.stem + "-uploads")
    state = State(ws, updir, token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        # queued fits are dropped; a running one is waited for (a fit cannot be stopped halfway,
        # and closing the workspace under it, or exiting with it still running, crashes DuckDB)
        await run_in_threadpool(state.executor.shutdown, wait=True, cancel_futures=True)
        with state.lock:
            ws.close()

    app = FastAPI(
        title="truefans",
        version=__version__,
        description="Measure marketing by what pays, not by who follows. Each `/api/v1/<command>` "
        "takes the CLI command's options as query parameters and returns exactly the object "
        "`truefans <command> --format json` prints.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.truefans = state
    app.add_middleware(security.Guard, token=token)
    env = report_render.environment(HERE / "templates")

    def state_of(request: Request) -> State:
        return request.app.state.truefans  # type: ignore[no-any-return]

    # -- errors: one JSON shape under /api/, a page elsewhere ------------------------------------
    @app.exception_handler(TruefansError)
    async def _truefans_error(request: Request, exc: TruefansError) -> Response:
        if request.url.path.startswith("/api/"):
            return _error(400, str(exc))
        return _page_error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        msg = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        if request.url.path.startswith("/api/"):
            return _error(422, msg, errors)
        return _page_error(request, 422, msg)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return _error(exc.status_code, str(exc.detail))
        return _page_error(request, exc.status_code, str(exc.detail))

    def _page_error(request: Request, status: int, message: str) -> Response:
        return render(
            request,
            "error.html",
            {"status": status, "message": message, "title": str(status)},
            status,
        )

    # -- rendering helpers --------------------------------------------------------------------
    def csrf_of(request: Request) -> tuple[str, bool]:
        have = request.cookies.get(security.CSRF_COOKIE)
        return (have, False) if have else (security.new_csrf(), True)

    def render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        csrf, fresh = csrf_of(request)
        filters = shared_filters(request)
        html = env.get_template(name).render(
            request_path=request.url.path,
            analyses=available(),
            filters=filters,
            filter_query=filter_query(filters),
            csrf=csrf,
            version=__version__,
            login=state.token is not None,
            **ctx,
        )
        resp = HTMLResponse(html, status_code=status)
        if fresh:
            resp.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return resp

    def shared_filters(request: Request) -> dict[str, Any]:
        q = request.query_params
        outcome = ",".join(v for v in q.getlist("outcome") if v) or None
        channels = [c for v in q.getlist("channel") for c in v.split(",") if c.strip()]
        return {
            "since": q.get("since") or None,
            "until": q.get("until") or None,
            "outcome": outcome,
            "channel": channels,
        }

    def filter_query(filters: Mapping[str, Any]) -> str:
        from urllib.parse import urlencode

        pairs: list[tuple[str, str]] = []
        for k in SHARED_FILTERS:
            v = filters.get(k)
            if isinstance(v, list):
                pairs += [(k, x) for x in v]
            elif v:
                pairs.append((k, str(v)))
        return ("?" + urlencode(pairs)) if pairs else ""

    known: dict[int, list[tuple[str, str]]] = {}
    report_defaults: dict[tuple[int, str], dict[str, Any]] = {}

    def channels_known() -> list[tuple[str, str]]:
        """The channels for the filter (once per import generation; on a cursor of its own, so
        a page does not wait for a model fit holding the workspace's lock)."""
        gen = state.generation
        if gen not in known:
            cur = state.ws.con.cursor()
            try:
                rows = cur.execute(
                    "SELECT channel_id, coalesce(name, channel_id) FROM channels ORDER BY 1"
                ).fetchall()
            finally:
                cur.close()
            known.clear()
            known[gen] = [(str(a), str(b)) for a, b in rows]
        return known[gen]

    # -- static assets (a fixed table: no user path reaches the file system) ---------------------
    assets: dict[str, tuple[str, Callable[[], str]]] = {
        "style.css": ("text/css", lambda: report_render.css()),
        "charts.js": ("text/javascript", lambda: report_render.charts_js()),
        "app.js": ("text/javascript", lambda: (HERE / "static" / "app.js").read_text()),
        "plotly.min.js": ("text/javascript", report_render.plotly_js),
    }

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            raise StarletteHTTPException(404, "no such file")
        ctype, load = assets[name]
        return Response(
            load(), media_type=ctype, headers={"Cache-Control": "private, max-age=3600"}
        )

    # -- pages --------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> Response:
        filters = shared_filters(request)
        a = get("picture")
        params = report_render.page_params(a, filters)
        sec = await run_in_threadpool(_section, a, params, filters["channel"])

        def imports() -> list[dict[str, Any]]:
            with state.lock:
                df = state.ws.imports()
            return [
                {str(k): report_render._cell(v) for k, v in r.items()}
                for r in df.tail(20).to_dict("records")
            ]

        rows = await run_in_threadpool(imports)
        return render(request, "index.html", {"sec": sec, "imports": rows, "title": "Overview"})

    def _section(a: Analysis, params: dict[str, Any], channels: list[str]) -> Any:
        try:
            res = state.result(a, params)
        except TruefansError as e:
            sec = report_render.Section(a, params, error=str(e))
            return sec
        return report_render.build_section(state.ws, a, params, channels, result=res)

    @app.get("/a/{name}", response_class=HTMLResponse, include_in_schema=False)
    async def analysis_page(request: Request, name: str) -> Response:
        a = get(name)
        filters = shared_filters(request)
        options = {
            k: v
            for k, v in request.query_params.items()
            if k in a.option and k not in SHARED_FILTERS and v != ""
        }
        # the report's choices where the URL makes none (clv's holdout, plan's budget)
        if a.report_options and not any(o.required and o.flag in options for o in a.options):

            def defaults() -> dict[str, Any]:
                # on a cursor of its own (like the channel list), once per import generation: a
                # page does not wait for a mix or plan fit holding the workspace's lock
                memo = (state.generation, a.name)
                if memo not in report_defaults:
                    cur = state.ws.con.cursor()
                    try:
                        got = (
                            a.report_options(Workspace(state.ws.path, cur))
                            if a.report_options
                            else {}
                        )
                    finally:
                        cur.close()
                    if len(report_defaults) > 16:
                        report_defaults.clear()
                    report_defaults[memo] = got
                return dict(report_defaults[memo])

            extra = await run_in_threadpool(defaults)
            if not any(k in options for k in extra):  # one choice: all of them or none
                options = {**extra, **options}
        shown = report_render.page_params(a, filters, options)
        missing = [o for o in a.options if o.required and shown.get(o.flag) in (None, "")]
        job: dict[str, Any] | None = None
        if missing:  # e.g. career without a profile: say what to give, not an error
            sec = report_render.Section(
                a,
                shown,
                absent="; ".join(f"--{o.flag} is needed: {o.help}" for o in missing)
                + ". Set it in the options above.",
            )
        else:
            params = state.prepare(a, shown)  # bad file names: a 400 page naming them
            key = state.key(a, params)  # bad options: a 400 page naming them
            failed = state.failure(key) if a.slow else None
            if failed is not None:
                sec = report_render.Section(a, params, error=failed)
            elif a.slow and state.cache.get(key) is None:
                from urllib.parse import urlencode

                url = f"/api/v1/{a.name}" + (f"?{urlencode(shown)}" if shown else "")
                j = state.start(a, params, key, url)
                job = j.to_dict(state.ahead(j))
                sec = report_render.Section(a, params)
            else:
                sec = await run_in_threadpool(_section, a, params, filters["channel"])
        chans = await run_in_threadpool(channels_known)
        from urllib.parse import urlencode

        api = f"/api/v1/{a.name}" + (f"?{urlencode(shown)}" if shown else "")
        profiles = await run_in_threadpool(files.uploaded, state.upload_dir)
        return render(
            request,
            "analysis.html",
            {
                "sec": sec,
                "job": job,
                "analysis": a,
                "params": shown,
                "options": options,
                "profiles": profiles,
                "outcome_types": OUTCOME_TYPES,
                "channels": chans,
                "api_url": api,
                "title": a.title,
            },
        )

    @app.get("/report.html", include_in_schema=False)
    async def report(request: Request) -> Response:
        filters = shared_filters(request)

        def run(a: Analysis, params: dict[str, Any]) -> Result:
            """Answer from memory; a slow analysis not computed yet is left out, saying how to
            get it (its page computes it in the background)."""
            params = state.prepare(a, params)
            key = state.key(a, params)
            hit = state.cache.get(key)
            if hit is not None:
                return hit[0]
            if a.slow:
                failed = state.failure(key)
                if failed is not None:
                    raise TruefansError(failed)
                from urllib.parse import urlencode

                raise report_render.NotComputed(
                    f"not computed in this app yet (it takes a while): open the {a.title} page "
                    f"(/a/{a.name}?{urlencode(params)}), which computes it in the background, "
                    "then download the report again; `truefans report` computes every section"
                )
            return state.result(a, params)

        def build() -> str:
            with state.lock:
                return report_render.render_report(
                    state.ws,
                    since=filters["since"],
                    until=filters["until"],
                    outcome=filters["outcome"],
                    channel=filters["channel"],
                    run=run,
                )

        html = await run_in_threadpool(build)
        return HTMLResponse(
            html, headers={"Content-Disposition": 'attachment; filename="truefans-report.html"'}
        )

    # -- upload -------------------------------------------------------------------------------
    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload_page(request: Request) -> Response:
        return render(
            request,
            "upload.html",
            {
                "title": "Import files",
                "suffixes": sorted(_IMPORTABLE),
                "max_mb": MAX_UPLOAD_BYTES // 1024**2,
            },
        )

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not security.csrf_ok(headers, None, state.token):
            return _error(403, "missing or wrong CSRF token: reload the page and try again")
        length = int(headers.get("content-length") or 0)
        if length > MAX_UPLOAD_BYTES * MAX_UPLOAD_FILES:
            return _error(413, "upload too large")
        form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=20)
        uploads = [f for f in form.getlist("files") if not isinstance(f, str)]
        if not uploads:
            return _error(400, "no files in the upload (field 'files')")
        job_dir_id = state.new_job([])
        folder = (state.upload_dir / f"{job_dir_id.id}").resolve()
        root = state.upload_dir.resolve()
        files: list[tuple[Path, str]] = []
        refused: list[dict[str, Any]] = []
        try:
            for up in uploads:
                shown = safe_name(up.filename or "upload")
                suffix = Path(shown).suffix.lower()
                if suffix not in _IMPORTABLE:
                    refused.append(
                        {
                            "file": shown,
                            "status": "unusable",
                            "message": f"type {suffix or '(none)'} is not one truefans reads ({', '.join(sorted(_IMPORTABLE))})",
                        }
                    )
                    continue
                target = (folder / f"{len(files):03d}-{shown}").resolve()
                if root not in target.parents:  # never outside the upload folder
                    refused.append(
                        {"file": shown, "status": "unusable", "message": "bad file name"}
                    )
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                size = 0
                head = b""
                with open(target, "wb") as out:
                    while chunk := await up.read(1024 * 1024):
                        size += len(chunk)
                        if size > MAX_UPLOAD_BYTES:
                            break
                        if len(head) < 8192:
                            head += chunk[: 8192 - len(head)]
                        out.write(chunk)
                if size > MAX_UPLOAD_BYTES:
                    target.unlink(missing_ok=True)
                    refused.append(
                        {
                            "file": shown,
                            "status": "unusable",
                            "message": f"larger than the limit of {MAX_UPLOAD_BYTES // 1024**2} MB",
                        }
                    )
                    continue
                if suffix not in BINARY_SUFFIXES and b"\x00" in head:
                    target.unlink(missing_ok=True)
                    refused.append(
                        {
                            "file": shown,
                            "status": "unusable",
                            "message": f"not a text file, although named {suffix}",
                        }
                    )
                    continue
                files.append((target, shown))
        finally:
            for up in uploads:
                await up.close()
        job = job_dir_id
        job.files = files
        job.reports.extend(refused)
        if files:
            threading.Thread(target=state.run_job, args=(job,), daemon=True).start()
        else:
            job.finished = True
        return JSONResponse(job.to_dict(), status_code=202 if files else 400)

    @app.post("/upload/profile", include_in_schema=False)
    async def upload_profile(request: Request) -> Response:
        """A profile (YAML/TOML) for the options that take one (credibility and career's
        --profile): checked, stored in the upload folder's profiles/, then the page again with
        it chosen."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length > files.MAX_PROFILE_BYTES + 64 * 1024:
            return _page_error(request, 413, "profile too large (at most 256 KB)")
        form = await request.form(max_files=1, max_fields=5)
        if not security.csrf_ok(headers, str(form.get("csrf_token") or ""), state.token):
            return _page_error(request, 403, "missing or wrong CSRF token: reload the page")
        back = str(form.get("analysis") or "")
        if back not in {a.name for a in available() if any(o.file for o in a.options)}:
            return _page_error(request, 400, f"no page {back!r} takes a profile")
        up = form.get("profile")
        if up is None or isinstance(up, str):
            return _page_error(request, 400, "no file in the upload (field 'profile')")
        try:
            name = safe_name(up.filename or "profile.yaml")
            if Path(name).suffix.lower() not in files.PROFILE_SUFFIXES:
                raise InvalidOption(
                    f"{name}: a profile is a {', '.join(files.PROFILE_SUFFIXES)} file"
                )
            files.check_name(name)
            data = await up.read(files.MAX_PROFILE_BYTES + 1)
            if len(data) > files.MAX_PROFILE_BYTES:
                raise InvalidOption(f"{name}: larger than 256 KB; a profile is a short list")
            folder = files.profiles_dir(state.upload_dir)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            if target.is_symlink():
                raise InvalidOption(f"{name}: refusing to write through a symlink")
            tmp = folder / f".part-{name}"  # keeps the suffix the reader goes by
            tmp.write_bytes(data)
            from ..credibility.relevance import Profile

            try:
                Profile.load(tmp)  # a profile that cannot be read is refused, with its reason
            except TruefansError as e:
                tmp.unlink(missing_ok=True)
                raise InvalidOption(str(e).replace(str(tmp), name)) from e
            os.replace(tmp, target)
        finally:
            await up.close()
        from urllib.parse import urlencode

        return RedirectResponse(f"/a/{back}?{urlencode({'profile': name})}", status_code=303)

    @app.get("/upload/jobs/{job_id}", include_in_schema=False)
    async def job_status(job_id: int) -> Response:
        job = state.jobs.get(job_id)
        if job is None:
            return _error(404, f"no import job {job_id}")
        return JSONResponse(job.to_dict())

    # -- login --------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        return render(
            request,
            "login.html",
            {
                "title": "Log in",
                "next": security.safe_next(next),
                "css": report_render.css(),
                "failed": False,
            },
        )

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        headers = {k.lower(): v for k, v in request.headers.items()}
        submitted = str(form.get("csrf_token") or "")
        if not security.csrf_ok(headers, submitted, None):
            return _page_error(request, 403, "missing or wrong CSRF token: reload the login page")
        given = str(form.get("token") or "")
        nxt = security.safe_next(str(form.get("next") or "/"))
        if state.token is None:
            return RedirectResponse(nxt, status_code=303)
        import hmac

        if not hmac.compare_digest(given.encode(), state.token.encode()):
            return render(
                request,
                "login.html",
                {"title": "Log in", "next": nxt, "css": report_render.css(), "failed": True},
                401,
            )
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(
            security.SESSION_COOKIE,
            security.session_value(state.token),
            httponly=True,
            samesite="strict",
            path="/",
        )
        return resp

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not security.csrf_ok(headers, str(form.get("csrf_token") or ""), state.token):
            return _page_error(request, 403, "missing or wrong CSRF token")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(security.SESSION_COOKIE, path="/")
        return resp

    # -- the JSON API -------------------------------------------------------------------------
    for a in available():
        responses: dict[int | str, dict[str, Any]] = {
            400: {"description": "an option the analysis cannot use (one JSON error shape)"},
            401: {"description": "the token is required on this binding"},
        }
        if a.slow:
            responses[202] = {
                "description": "not computed yet: a background job computes it. Poll the job "
                "(Location header, `/api/v1/jobs/{job}`) until its status is done, then ask "
                "this URL again for the result"
            }
        app.add_api_route(
            f"/api/v1/{a.name}",
            _api_endpoint(state_of, a),
            methods=["GET"],
            summary=a.title,
            tags=["analyses"],
            responses=responses,
        )

    @app.get(
        "/api/v1/jobs/{job_id}",
        tags=["jobs"],
        summary="A background analysis job",
        responses={404: {"description": "no such job"}},
    )
    async def analysis_job(job_id: int) -> Response:
        """Status of a slow analysis (mix, plan) computing in the background: queued, running,
        done or failed, elapsed seconds and an estimated progress; `result` is the URL that
        answers with the analysis once it is done."""
        job = state.analysis_jobs.get(job_id)
        if job is None:
            return _error(404, f"no analysis job {job_id}")
        return JSONResponse(job.to_dict(state.ahead(job)))

    return app


def serve(
    workspace_path: str | os.PathLike[str] | None,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Run the app with uvicorn. A non-loopback ``host`` needs the workspace's token (created and
    printed on first start, stored in the workspace's settings)."""
    import uvicorn
    from rich.console import Console

    console = Console(stderr=True)
    token: str | None = None
    if not security.is_loopback(host):
        with open_workspace(workspace_path, create=False) as ws:
            token, created = security.workspace_token(ws)
        console.print(
            f"{'New token' if created else 'Token'} for http://{host}:{port}/ (stored in the "
            f"workspace): [bold]{token}[/bold]\nSend it as 'Authorization: Bearer <token>' or "
            "log in at /login.",
            highlight=False,
        )
    app = create_app(resolve_path(workspace_path), token=token)
    console.print(
        f"truefans on http://{'[' + host + ']' if ':' in host else host}:{port}/ (Ctrl-C stops it)",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
