"""The page's web app: Starlette routes over the one door into the costing core (cost.door).

Server-rendered (Jinja2): a question is a GET with the `cost` flags in its query string, so
every answer has a URL; the few lines of JavaScript in static/page.js only upload run files and
leave empty fields out of the URL. Nothing is fetched from outside: the page works offline.

Bounded: a query string of MAX_QUERY bytes, MAX_DRAWS draws, MAX_SCENARIOS sweep rows, an
upload of MAX_UPLOAD bytes. A user's mistake is its one-line message beside its field; anything
else is one line naming the error (the traceback goes to the server's log, never to a page).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from subsidybench.cost import door
from subsidybench.cost.inputs import Kind, Panel, param_of
from subsidybench.errors import UserError
from subsidybench.report.core_words import core_text
from subsidybench.report.i18n import messages
from subsidybench.ui import form, view
from subsidybench.ui.uploads import MAX_UPLOAD, Uploads
from subsidybench.ui.words import WORDS

_HERE = Path(__file__).resolve().parent
_LOG = logging.getLogger("subsidybench.ui")
_OPEN = {Panel.JOB, Panel.DEVICE, Panel.SUBSIDY}
"""Sections of the form open at first; the others fold (their inputs are rarely needed)."""


class Asked:
    """One question asked of the page: its inputs, the answer or the error, the command."""

    def __init__(
        self, uploads: Uploads, query: list[tuple[str, str]], lists: dict[str, Any]
    ) -> None:
        self.query = query
        self.error = ""
        self.field: str | None = None
        self.outcome: door.Outcome | None = None
        self.question = form.Question({})
        self.lang = "en"
        try:
            self.question = form.question(query)
            lang = self.question.texts.get("lang", "en")
            self.lang = lang if lang in WORDS else "en"
            # The language and units alone are no question: the empty form, in that language.
            if set(self.question.texts) - {"lang", "units"} or self.question.options:
                self.outcome = self._answer(uploads, lists)
        except UserError as e:
            self.error = uploads.hide(e.say(param_of))
            self.field = form.field_of(e)
        self.command = form.command(self.question.texts, uploads.names)
        if self.question.options:
            self.command += " --compare options.toml"

    def _answer(self, uploads: Uploads, lists: dict[str, Any]) -> door.Outcome:
        texts = dict(self.question.texts)
        form.bound(texts)
        form.in_catalogue(texts, lists)
        if "run" in texts:
            texts["run"] = [str(uploads.path(u)) for u in texts["run"]]
        read = door.read(texts)
        values = read.values
        values["max_scenarios"] = values["max_scenarios"] or form.MAX_SCENARIOS
        request = door.request_of(replace(read, values=values))
        if not self.question.options:
            return _hide(door.answer(request), uploads.hide)
        with tempfile.TemporaryDirectory(prefix="subsidybench-ui-") as tmp:
            path = Path(tmp) / "options.toml"
            path.write_text(form.options_toml(self.question.options), encoding="utf-8")

            def hide(text: str) -> str:
                return uploads.hide(text.replace(str(path), path.name))

            try:
                return _hide(door.answer(request, compare=path), hide)
            except UserError as e:
                raise UserError(hide(e.template)) from None


def _hide(o: door.Outcome, hide: Any) -> door.Outcome:
    """The answer with the server's own paths named as the user gave the files (an upload's
    name, options.toml), as `cost` run beside them would name them."""
    doc = json.loads(hide(json.dumps(o.doc, default=str)))
    return replace(o, doc=doc, warnings=tuple(hide(w) for w in o.warnings))


LOCAL = ("127.0.0.1", "localhost", "::1")
"""Host names a page served on this machine answers to: a page of another site that makes its
own name point here (DNS rebinding) is refused, with its uploads."""


def create_app(hosts: Sequence[str] = LOCAL) -> Starlette:
    """The app, answering requests for `hosts` ("*": any, for a page shared on a network); its
    uploads live as long as it does."""
    uploads = Uploads()
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    page = env.get_template("page.html")
    lists = _selects()  # the catalogue as the server started: read once, not per answer
    from subsidybench.catalogue.subsidies import list_programmes

    expired = {p.id for p in list_programmes() if p.expired()}

    def ask(request: Request) -> Asked:
        raw = request.url.query
        if len(raw.encode()) > form.MAX_QUERY:
            asked = Asked(uploads, [], lists)
            asked.error = f"the query string is over {form.MAX_QUERY:,} bytes"
            return asked
        return Asked(uploads, list(request.query_params.multi_items()), lists)

    def cost(request: Request) -> Response:
        asked = ask(request)
        o = asked.outcome
        w = WORDS[asked.lang]
        try:
            m = messages(asked.lang, asked.question.texts.get("units"))
        except UserError as e:
            m = messages(asked.lang)
            asked.error, asked.field, o = e.say(param_of), "units", None
        values = dict(asked.question.texts)
        runs = [(u, uploads.names.get(u, u)) for u in values.pop("run", [])]
        html = page.render(
            w=w,
            lang=asked.lang,
            asked=asked,
            o=o,
            values=values,
            runs=runs,
            options=list(asked.question.options) + [{}] * (4 - len(asked.question.options)),
            option_fields=form.OPTION_FIELDS,
            sections=form.sections(asked.lang),
            open_panels=_OPEN,
            Kind=Kind,
            said=form.help_html,
            title=(
                m("answer.cost_of", job=core_text(o.doc["job"], m))
                if o and o.doc.get("job")
                else ""
            ),
            warnings=[core_text(line, m) for line in o.warnings] if o else [],
            headline=view.headline(o, m, w) if o else [],
            tornado=view.tornado(o, m) if o else [],
            assumptions=view.assumptions(o, m) if o else [],
            details=view.details(o) if o else [],
            ranked=view.ranked(o, m) if o else [],
            sweep=view.sweep(o) if o else ([], []),
            query=request.url.query,
            selects=lists,
            expired=expired,
            lang_links={k: _with_lang(asked.query, k) for k in WORDS},
        )
        return HTMLResponse(html, status_code=400 if asked.error else 200)

    def answer_json(request: Request) -> Response:
        asked = ask(request)
        if asked.outcome is None:
            return _error(asked.error or "no question: give the cost flags in the query string")
        body = json.dumps(asked.outcome.doc, indent=2, default=str)
        return Response(body, media_type="application/json", headers=_attachment("answer.json"))

    def workbook(request: Request) -> Response:
        asked = ask(request)
        o = asked.outcome
        if o is None or o.kind != "estimate":
            return _error(asked.error or "a workbook holds one answer (not a sweep or ranking)")
        from subsidybench.report.live_workbook import write_answer_xlsx

        with tempfile.TemporaryDirectory(prefix="subsidybench-ui-") as tmp:
            path = Path(tmp) / "answer.xlsx"
            m = messages(asked.lang, asked.question.texts.get("units"))
            write_answer_xlsx(o.scenario, o.result, path, m)
            data = path.read_bytes()
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(data, media_type=kind, headers=_attachment("answer.xlsx"))

    def bundle(request: Request) -> Response:
        asked = ask(request)
        runs = asked.question.texts.get("run")
        if asked.outcome is None or not runs:
            return _error(asked.error or "an evidence bundle needs an uploaded run")
        from subsidybench.report.evidence_bundle import write_bundle

        t = asked.question.texts
        prices = [t["price"]] if "price" in t else []
        with tempfile.TemporaryDirectory(prefix="subsidybench-ui-") as tmp:
            out = Path(tmp) / "evidence.zip"
            try:
                write_bundle(
                    [uploads.path(u) for u in runs],
                    out,
                    subsidy=t.get("subsidy"),
                    prices=prices,
                    currency=t.get("report_currency") or t.get("currency"),
                )
            except UserError as e:
                return _error(uploads.hide(e.say(param_of)))
            data = out.read_bytes()
        return Response(data, media_type="application/zip", headers=_attachment("evidence.zip"))

    def options_file(request: Request) -> Response:
        asked = ask(request)
        text = form.options_toml(asked.question.options)
        return Response(text, media_type="text/plain", headers=_attachment("options.toml"))

    async def upload(request: Request) -> Response:
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD:
            return _error(f"--run: larger than {MAX_UPLOAD // 2**20} MiB", 413)
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > MAX_UPLOAD:
                return _error(f"--run: larger than {MAX_UPLOAD // 2**20} MiB", 413)
            chunks.append(chunk)
        name = request.query_params.get("name", "run.json")
        try:
            upload_id = uploads.add(name, b"".join(chunks))
        except UserError as e:
            return _error(e.say(param_of))
        return JSONResponse({"id": upload_id, "name": uploads.names[upload_id]})

    def home(request: Request) -> Response:
        return RedirectResponse("/cost", status_code=307)

    routes = [
        Route("/", home),
        Route("/cost", _guarded(cost)),
        Route("/answer.json", _guarded(answer_json)),
        Route("/answer.xlsx", _guarded(workbook)),
        Route("/evidence.zip", _guarded(bundle)),
        Route("/options.toml", _guarded(options_file)),
        Route("/upload", upload, methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        uploads.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    app.state.uploads = uploads
    return app


def _guarded(handler: Any) -> Any:
    """A handler whose unexpected errors become one line (the traceback goes to the log)."""

    def run(request: Request) -> Response:
        try:
            return handler(request)
        except UserError as e:
            # The library names inputs (errors.named); the page says each as its URL parameter.
            return _error(e.say(param_of))
        except Exception as e:  # a bug: one line for the page, the whole story for the log
            _LOG.exception("while answering %s", request.url)
            return _error(
                f"internal error ({type(e).__name__}); the server's log has the details", 500
            )

    return run


def _error(message: str, status: int = 400) -> Response:
    return Response(f"error: {message}\n", status_code=status, media_type="text/plain")


def _attachment(name: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{name}"'}


def _with_lang(query: list[tuple[str, str]], lang: str) -> str:
    from urllib.parse import urlencode

    return "/cost?" + urlencode([(k, v) for k, v in query if k != "lang"] + [("lang", lang)])


def _selects() -> dict[str, list[tuple[str, str]]]:
    """The inputs the page offers as lists (value, text): their choices, or the catalogue's
    entries (device profiles; programmes, the valid ones first, expired ones marked)."""
    from subsidybench.catalogue.profiles import list_profiles
    from subsidybench.catalogue.subsidies import list_programmes

    devices = [(p.id, f"{p.id}: {p.name}") for p in list_profiles()]
    programmes = list_programmes()
    valid = [(p.id, p.id) for p in programmes if not p.expired()]
    expired = [(p.id, p.id) for p in programmes if p.expired()]  # marked in the page's words
    lists = {"devices": devices, "subsidies": valid + expired}
    out = {i.name: lists[i.catalogue] for i in form.page_inputs() if i.catalogue}
    out |= {i.name: [(c, c) for c in i.choices] for i in form.page_inputs() if i.choices}
    out["lang"] = [("en", "English"), ("zh", "中文")]
    return out
