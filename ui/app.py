"""The web app: the Gradio Blocks of the chat (clickable citations), the library and the
settings, answering through the Pipeline it is given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag import Answer, DatelineError, Pipeline, Settings, apply_offline_env
from ui import render
from ui.api import (
    UPLOAD_SUFFIXES,
    Upload,
    ingest_uploads,
    make_filters,
    parse_day,
)

if TYPE_CHECKING:
    import gradio as gr

STATIC = Path(__file__).resolve().parent / "static"
Message = dict[str, Any]
_CONFIRM_DELETE = (
    "(id, q) => [id && confirm('Delete article ' + id + ' from the library?') ? id : '', q]"
)
EXAMPLES = [
    "How many people died in the January 2022 unrest in Kazakhstan, and who did Kazakhstan ask "
    "for help?",
    "What did the Northvale council decide about the flood barrier?",
]


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _notice_html(pipeline: Pipeline) -> str:
    ahead = pipeline.waiting()
    if ahead:
        # Questions from the REST API (or other chats) wait for the model in arrival order.
        return (
            f'<div class="dl-notice">{ahead} other question{"s" if ahead > 1 else ""} '
            "waiting for the model; yours is answered in turn.</div>"
        )
    if pipeline.llm_loaded():
        return ""
    return (
        '<div class="dl-notice">The first answer loads the local model (a few seconds); '
        "later answers start at once.</div>"
    )


def _settings_panel(pipeline: Pipeline, settings: Settings) -> str:
    return render.settings_html(
        llm=settings.llm,
        model=settings.llm_model,
        store=settings.store_location,
        embed_model=settings.embed_model,
        loaded=pipeline.llm_loaded(),
        articles=len(pipeline.articles()),
    )


def _viewer_placeholder() -> str:
    return (
        '<div class="dl-article empty"><p>Click a citation such as <b>[1]</b> to read the '
        "sentence in its article.</p></div>"
    )


def build_app(pipeline: Pipeline, settings: Settings) -> gr.Blocks:
    """The Blocks of the chat, library and settings tabs, answering through `pipeline`."""
    apply_offline_env()
    import gradio as gr

    # ----- event handlers (closures over the pipeline) ----------------------------------------

    def open_article(ref: Any) -> str:
        """Called from the browser with [article_id, sentence_index] when a citation is clicked."""
        article_id, sentence = [*ref, None][:2] if isinstance(ref, list) else (str(ref), None)
        article = pipeline.article(str(article_id))
        if article is None:
            return render.article_missing_html(str(article_id))
        highlight = (
            int(sentence)
            if isinstance(sentence, (int, float, str)) and str(sentence).lstrip("-").isdigit()
            else None
        )
        return render.article_html(article, highlight)

    def respond(
        question: str,
        messages: list[Message],
        history: list[Message],
        since: str,
        until: str,
        sources: list[str] | None,
    ) -> Iterator[tuple[Any, ...]]:
        q = " ".join((question or "").split())
        if not q:
            gr.Warning("Type a question first.")
            yield question, messages, history, gr.skip(), gr.skip()
            return
        messages = [*messages, {"role": "user", "content": render.esc(q)}]
        try:
            filters = make_filters(
                parse_day(since, "From date"), parse_day(until, "To date"), sources or ()
            )
        except DatelineError as exc:
            messages.append({"role": "assistant", "content": render.message_html(str(exc))})
            yield "", messages, history, gr.skip(), gr.skip()
            return
        messages.append({"role": "assistant", "content": render.streaming_html("…")})
        waiting = (
            '<div class="dl-evidence empty"><h3>Sources</h3><p>Reading the articles…</p></div>'
        )
        yield "", messages, history, waiting, _notice_html(pipeline)
        text = ""
        final: Answer | None = None
        try:
            for item in pipeline.stream(q, history, filters):
                if isinstance(item, Answer):
                    final = item
                else:
                    text += item
                    messages[-1] = {"role": "assistant", "content": render.streaming_html(text)}
                    yield "", messages, history, gr.skip(), gr.skip()
        except DatelineError as exc:
            messages[-1] = {"role": "assistant", "content": render.message_html(str(exc))}
            yield "", messages, history, render.evidence_html(None), _notice_html(pipeline)
            return
        assert final is not None  # stream() always ends with the Answer
        # The verified answer replaces the streamed text (verification may renumber or drop).
        messages[-1] = {"role": "assistant", "content": render.answer_html(final)}
        history = [
            *history,
            {"role": "user", "content": q},
            {"role": "assistant", "content": final.answer},
        ]
        yield "", messages, history, render.evidence_html(final), _notice_html(pipeline)

    def clear_chat() -> tuple[Any, ...]:
        return [], [], render.evidence_html(None), _viewer_placeholder(), ""

    def library_rows(query: str | None) -> list[list[object]]:
        return render.articles_table(pipeline.articles(), query or "")

    def sources_update() -> Any:
        return gr.update(choices=pipeline.sources())

    def ingest_files(
        files: list[str] | None, query: str, progress: gr.Progress = gr.Progress()
    ) -> tuple[Any, ...]:
        if not files:
            return (
                '<div class="dl-report failed">Choose one or more files first.</div>',
                gr.skip(),
                gr.skip(),
                gr.skip(),
            )
        labels = {"read": "Reading files", "split": "Splitting sentences", "embed": "Embedding"}

        def tick(stage: str, done: int, total: int | None) -> None:
            progress((done, total), desc=labels.get(stage, stage), unit="items")

        uploads = []
        for f in files:
            path = Path(f)
            # Gradio keeps the user's file name as the last part of its temp path.
            uploads.append(Upload(name=path.name, size=path.stat().st_size, path=path))
        try:
            report, rejected = ingest_uploads(pipeline, uploads, progress=tick)
        except DatelineError as exc:
            return (render.message_html(str(exc)), gr.skip(), gr.skip(), gr.skip())
        return (
            render.ingest_report_html(report, rejected),
            None,
            library_rows(query),
            sources_update(),
        )

    def show_article(article_id: str) -> str:
        aid = (article_id or "").strip()
        if not aid:
            return '<div class="dl-article empty"><p>Pick an article in the table.</p></div>'
        article = pipeline.article(aid)
        return render.article_html(article) if article else render.article_missing_html(aid)

    def select_row(evt: gr.SelectData) -> tuple[str, str]:
        row = evt.row_value or []
        aid = str(row[4]) if len(row) > 4 else ""
        return aid, show_article(aid)

    select_row.__annotations__["evt"] = gr.SelectData  # gradio reads the type, not the string

    def delete_article(article_id: str, query: str) -> tuple[Any, ...]:
        aid = (article_id or "").strip()
        if not aid:
            return render.message_html("Nothing deleted.", "info"), gr.skip(), gr.skip(), ""
        article = pipeline.article(aid)
        if article is None or not pipeline.delete(aid):
            msg = render.message_html(f"No article with id {aid} is stored; nothing deleted.")
            return msg, gr.skip(), gr.skip(), aid
        msg = render.message_html(f"Deleted “{article.title}” ({aid}).", "info")
        return msg, library_rows(query), sources_update(), ""

    def on_load(query: str) -> tuple[Any, ...]:
        return (
            library_rows(query),
            sources_update(),
            _settings_panel(pipeline, settings),
            _notice_html(pipeline),
        )

    # ----- layout -----------------------------------------------------------------------------

    with gr.Blocks(title="Dateline", analytics_enabled=False, fill_width=True) as demo:
        history = gr.State([])
        gr.HTML(
            '<header class="dl-header"><div class="dl-brand">Dateline</div>'
            '<div class="dl-tagline">Answers from your news archive, each claim tied to the '
            "sentence it comes from.</div></header>"
        )
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=380):
                    chatbot = gr.Chatbot(
                        elem_id="dl-chat",
                        label="Conversation",
                        show_label=False,
                        height=520,
                        layout="panel",
                        latex_delimiters=[],
                        feedback_options=None,
                        allow_tags=False,
                        render_markdown=False,  # content is escaped HTML from ui.render
                        buttons=["copy"],
                        placeholder=(
                            "<div class='dl-empty-chat'><b>Ask about the articles in the "
                            "library.</b><br>Every answer cites the sentences it rests on; "
                            "click a citation to read it in context.</div>"
                        ),
                    )
                    notice = gr.HTML("", elem_id="dl-notice")
                    with gr.Row(equal_height=True):
                        question = gr.Textbox(
                            elem_id="dl-question",
                            show_label=False,
                            placeholder="Ask a question about the news…",
                            scale=6,
                            max_length=2000,
                            autofocus=True,
                        )
                        ask_btn = gr.Button("Ask", variant="primary", scale=0, min_width=100)
                        clear_btn = gr.Button("Clear chat", scale=0, min_width=130)
                    with gr.Accordion("Filters", open=False, elem_id="dl-filters"):
                        with gr.Row():
                            since = gr.Textbox(
                                label="From date", placeholder="YYYY-MM-DD", elem_id="dl-since"
                            )
                            until = gr.Textbox(
                                label="To date", placeholder="YYYY-MM-DD", elem_id="dl-until"
                            )
                        sources = gr.Dropdown(
                            choices=[],
                            value=[],
                            multiselect=True,
                            label="Outlets",
                            info="Leave empty to search every outlet.",
                            elem_id="dl-sources",
                        )
                    gr.Examples(EXAMPLES, inputs=question, label="Try")
                with gr.Column(scale=2, min_width=340, elem_id="dl-side"):
                    evidence = gr.HTML(render.evidence_html(None), elem_id="dl-evidence")
                    viewer = gr.HTML(
                        _viewer_placeholder(),
                        elem_id="dl-viewer",
                        js_on_load=static_text("dateline.js"),
                        server_functions=[open_article],
                        max_height=560,
                        autoscroll=False,
                    )
            with gr.Tab("Library", id="library"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=480):
                    upload = gr.File(
                        file_count="multiple",
                        label=(
                            "Add articles ("
                            + ", ".join(s.lstrip(".") for s in UPLOAD_SUFFIXES)
                            + f"; up to {settings.max_upload_mb:g} MB each)"
                        ),
                        elem_id="dl-upload",
                        height=140,
                    )
                    ingest_btn = gr.Button("Add to library", variant="primary", elem_id="dl-ingest")
                    report = gr.HTML("", elem_id="dl-report")
                    search = gr.Textbox(
                        label="Search the library",
                        placeholder="title, outlet, date or id",
                        elem_id="dl-search",
                    )
                    table = gr.Dataframe(
                        headers=render.TABLE_HEADERS,
                        datatype=["str", "str", "str", "number", "str"],
                        interactive=False,
                        wrap=True,
                        max_height=420,
                        column_widths=["42%", "17%", "13%", "10%", "18%"],
                        elem_id="dl-table",
                    )
                    with gr.Row(equal_height=False, elem_classes="dl-idrow"):
                        article_id = gr.Textbox(
                            label="Article id",
                            placeholder="pick a row, or paste an id",
                            elem_id="dl-article-id",
                            scale=3,
                        )
                        open_btn = gr.Button("Open", scale=1, size="md", elem_id="dl-open")
                        delete_btn = gr.Button(
                            "Delete", variant="stop", scale=1, size="md", elem_id="dl-delete"
                        )
                    lib_status = gr.HTML("", elem_id="dl-lib-status")
                with gr.Column(scale=2, min_width=360, elem_id="dl-lib-side"):
                    lib_viewer = gr.HTML(
                        '<div class="dl-article empty"><p>Pick an article in the table to '
                        "read it.</p></div>",
                        elem_id="dl-lib-viewer",
                        max_height=720,
                    )
            with gr.Tab("Settings", id="settings"):
                settings_box = gr.HTML(_settings_panel(pipeline, settings), elem_id="dl-settings")
                gr.Markdown(
                    "Settings are read from `DATELINE_*` environment variables when the server "
                    "starts; change them there and restart. The REST API lives under `/api` "
                    "(see `/api/docs`)."
                )

        # ----- wiring ---------------------------------------------------------------------------

        chat_inputs = [question, chatbot, history, since, until, sources]
        chat_outputs = [question, chatbot, history, evidence, notice]
        question.submit(respond, chat_inputs, chat_outputs, api_visibility="private")
        ask_btn.click(respond, chat_inputs, chat_outputs, api_visibility="private")
        clear_btn.click(
            clear_chat,
            None,
            [chatbot, history, evidence, viewer, notice],
            queue=False,
            api_visibility="private",
        )
        ingest_btn.click(
            ingest_files,
            [upload, search],
            [report, upload, table, sources],
            api_visibility="private",
        ).then(lambda: _settings_panel(pipeline, settings), None, settings_box, queue=False)
        search.change(library_rows, search, table, queue=False, api_visibility="private")
        table.select(select_row, None, [article_id, lib_viewer], api_visibility="private")
        open_btn.click(show_article, article_id, lib_viewer, api_visibility="private")
        article_id.submit(show_article, article_id, lib_viewer, api_visibility="private")
        delete_btn.click(
            delete_article,
            [article_id, search],
            [lib_status, table, sources, article_id],
            js=_CONFIRM_DELETE,
            api_visibility="private",
        )
        demo.load(on_load, search, [table, sources, settings_box, notice], api_visibility="private")
    return demo
