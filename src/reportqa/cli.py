"""``reportqa build | add | remove | ask | batch | eval | list | serve`` — a thin shell over ``ReportQA``.

Exit codes: 0 success; 1 error (one line on stderr); 2 bad usage; 3 finished, but some files or
input lines were skipped (each reported on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .config import MAX_TOP_K
from .errors import ReportQAError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process ended by SIGPIPE


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", help="index directory (default: index/, or $REPORTQA_INDEX)")
    common.add_argument("--corpus", help="corpus directory (default: corpus/, or $REPORTQA_CORPUS)")
    common.add_argument("--model", help="sentence-transformers model name or path (default: offline e5-small)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    common.add_argument("-q", "--quiet", action="store_true", help="only errors")

    parser = argparse.ArgumentParser(prog="reportqa", description="Cited answers from a report and its sources.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", parents=[common], help="(re)build the index from the corpus, incrementally")
    build.add_argument("--force", action="store_true", help="re-embed every document")
    add = sub.add_parser("add", parents=[common], help="copy files into the corpus and index them")
    add.add_argument("files", nargs="+")
    for command in (build, add):
        command.add_argument(
            "--ray",
            metavar="ADDRESS",
            help="embed the new documents on a Ray cluster: 'auto' (the running one), 'local' (start one "
            "here) or its address (default: $REPORTQA_RAY, else this machine)",
        )
    add.add_argument("--replace", action="store_true", help="overwrite a different corpus file of the same name")
    remove = sub.add_parser("remove", parents=[common], help="delete documents from the corpus and the index")
    remove.add_argument("documents", nargs="+", help="corpus file name or sha256 prefix (see 'reportqa list')")
    ask = sub.add_parser("ask", parents=[common], help="answer one question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=_passage_count, default=None)
    ask.add_argument("--json", action="store_true", help="one JSON object, as a batch line")
    ask.add_argument("--markdown", action="store_true", help="the answer with numbered references, ready to paste")
    ask.add_argument(
        "--after",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the conversation (repeat, oldest first): reads a follow-up with it",
    )
    batch = sub.add_parser("batch", parents=[common], help="answer a file of questions (.jsonl/.csv/.txt)")
    batch.add_argument("input")
    batch.add_argument("--out", required=True, help="output .jsonl or .csv")
    batch.add_argument("--top-k", type=_passage_count, default=None)
    batch.add_argument("--resume", action="store_true", help="keep OUT and answer only the ids not in it yet")
    evaluate = sub.add_parser("eval", parents=[common], help="hit@1, hit@k, MRR@10 per language on a question set")
    evaluate.add_argument("questions")
    evaluate.add_argument("--top-k", type=_passage_count, default=5)
    sub.add_parser("list", parents=[common], help="the documents in the index")
    for name in ("check", "fsck"):
        sub.add_parser(name, parents=[common], help="verify every index file against the manifest's sha256")
    sources = sub.add_parser(
        "sources", parents=[common], help="the works the documents cite, and which are in the corpus"
    )
    sources.add_argument("--missing", action="store_true", help="only cited works not in the corpus")
    sources.add_argument("--fetch", action="store_true", help="download the missing ones that have an arXiv id or link")
    sources.add_argument(
        "--only", action="append", help="with --fetch: only this footnote/reference marker (repeatable)"
    )
    sources.add_argument(
        "--arxiv-base", help="arXiv mirror to fetch from (default https://arxiv.org, or $REPORTQA_ARXIV_BASE)"
    )
    sub.add_parser(
        "daemon", parents=[common], help="hold the models and index, answering 'ask' and 'batch' of this index"
    )
    serve = sub.add_parser("serve", parents=[common], help="start the web chat (also answers 'ask' and 'batch')")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default 7860, or $GRADIO_SERVER_PORT")
    return parser


def _passage_count(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else 0
    if not 1 <= value <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_TOP_K}, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
        return code
    except BrokenPipeError:  # the reader went away (``reportqa ask … | head``): stop quietly, as a pipe does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else EXIT_OK
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # some libraries set their own loggers to DEBUG on import
    # pypdf's notes on the files it repairs as it reads them; a file it cannot read is reported as skipped
    logging.getLogger("pypdf").setLevel(level if args.verbose else logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return COMMANDS[args.command](args)
    except ReportQAError as e:
        _warn(f"error: {e}")
        return EXIT_ERROR
    except BrokenPipeError:
        raise
    except (ValueError, OSError) as e:
        _warn(f"error: {e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


_answered_in_process = False  # set once a one-shot answer is printed by models loaded here


def entry() -> None:
    code = main()
    if _answered_in_process:
        # the answer is out and nothing is left to write: skip tearing down the models and Kiwi's
        # dictionary (about 0.2 s of a one-shot `reportqa ask`)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (BrokenPipeError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def _settings(args):
    from .config import Settings

    return Settings.from_env(
        index_dir=args.index, corpus_dir=args.corpus, model=args.model, ray=getattr(args, "ray", None)
    )


def _qa(args):
    from .pipeline import ReportQA

    return ReportQA(settings=_settings(args))


def _warn(message: str) -> None:
    """One line on stderr, whatever the message holds (a file name with a newline stays on its line)."""
    from .errors import printable

    print(printable(message), file=sys.stderr)


def _report(report, quiet: bool) -> int:
    for _name, reason in report.skipped:
        _warn(f"skipped: {reason}")
    for _name, note in report.warnings:
        _warn(f"partly indexed: {note}")
    if not quiet:
        print(
            f"indexed {len(report.added)} new, {len(report.unchanged)} unchanged, {len(report.removed)} removed, "
            f"{len(report.skipped)} skipped; {report.chunks} chunks in {report.seconds:.1f}s"
        )
    return EXIT_SKIPPED if report.skipped or report.warnings else EXIT_OK


def cmd_build(args) -> int:
    qa = _qa(args)
    return _report(qa.build(force=args.force, progress=not args.quiet), args.quiet)


def cmd_add(args) -> int:
    qa = _qa(args)
    return _report(qa.add(args.files, replace=args.replace, progress=not args.quiet), args.quiet)


def cmd_remove(args) -> int:
    qa = _qa(args)
    return _report(qa.remove(args.documents, progress=not args.quiet), args.quiet)


def cmd_ask(args) -> int:
    from .resident import ask_resident

    remote = ask_resident(_settings(args), [args.question], args.top_k, [args.after])
    if remote is not None:
        record, text, markdown = remote[0].record, remote[0].text, remote[0].markdown
    else:
        from .render import answer_markdown, answer_text

        global _answered_in_process
        answer = _qa(args).ask(args.question, top_k=args.top_k, history=args.after)
        record, text, markdown = answer.to_dict(), answer_text(answer), answer_markdown(answer)
        _answered_in_process = True
    if args.json:
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(markdown if args.markdown else text, end="" if args.markdown else "\n")
    return EXIT_OK


def cmd_batch(args) -> int:
    from .batchio import run_batch

    def warn(message: str) -> None:
        _warn(f"skipped {message}")

    from .resident import RemoteQA, resident_available

    settings = _settings(args)
    qa = RemoteQA(settings) if resident_available(settings) else _qa(args)
    try:
        summary = run_batch(qa, Path(args.input), Path(args.out), top_k=args.top_k, resume=args.resume, on_skip=warn)
    except (ReportQAError, KeyboardInterrupt):
        from .batchio import partial_path

        if partial_path(Path(args.out)).exists():
            _warn(f"answers so far are in {partial_path(Path(args.out))}; add --resume to continue from them")
        raise
    if not args.quiet:
        resumed = f", {summary.already_done} already done" if args.resume else ""
        questions = "question" if summary.answered == 1 else "questions"
        print(
            f"answered {summary.answered} {questions}, skipped {summary.skipped}{resumed}; wrote {args.out}",
            file=sys.stderr,
        )
    return EXIT_SKIPPED if summary.skipped else EXIT_OK


def cmd_eval(args) -> int:
    from .batchio import BadLine, read_questions
    from .evaluation import eval_question, score

    questions, skipped = [], []
    for item in read_questions(Path(args.questions), as_jsonl=True):  # the batch reader's checks, line by line
        if isinstance(item, BadLine):
            skipped.append(f"skipped line {item.line}: {item.reason}")
            continue
        try:
            questions.append(eval_question(str(item.line), item.question, item.extra))
        except ValueError as e:
            skipped.append(f"skipped line {item.line}: {e}")
    for reason in skipped:
        _warn(reason)
    if not questions:
        raise ReportQAError(f"no questions to evaluate in {args.questions}")
    answers = _qa(args).batch([q.question for q in questions], top_k=max(args.top_k, 10))
    results = {
        q.id: ([p.chunk.text for p in a.passages], a.abstained, a.quotes[0].text if a.quotes else None)
        for q, a in zip(questions, answers)
    }
    k = args.top_k
    for lang, row in score(questions, results, k=k).items():
        print(
            f"{lang:4} n={row['n']:3d} hit@1={row['hit@1']:.3f} hit@{k}={row[f'hit@{k}']:.3f} "
            f"MRR@10={row['mrr@10']:.3f} answer@1={row['answer@1']:.3f} abstain_ok={row['abstain_ok']} "
            f"false_abstain={row['false_abstain']} passage_chars={row['mean_passage_chars']}"
        )
    return EXIT_SKIPPED if skipped else EXIT_OK


def cmd_list(args) -> int:
    documents = _qa(args).documents()
    if not documents and not args.quiet:  # stdout stays one line per document; the note goes to stderr
        _warn("no documents in the index: add some with 'reportqa add FILE…'")
    for d in documents:
        unit = "pages" if d.paged else "page"
        print(
            f"{d.doc_id[:12]}  {d.lang}  {d.pages:3d} {unit:5}  {len(d.chunk_ids):4d} chunks  "
            f"added {d.added}  {d.path}  — {d.title}"
        )
    return EXIT_OK


def cmd_check(args) -> int:
    version, problems = _qa(args).check()
    for problem in problems:
        _warn(f"damaged: {problem}")
    if problems:
        _warn(f"error: {len(problems)} damaged file(s) in {version}: run 'reportqa build --force'")
        return EXIT_ERROR
    if not args.quiet:
        print(f"ok: every file of {version} matches its recorded sha256")
    return EXIT_OK


def cmd_sources(args) -> int:
    qa = _qa(args)
    if args.fetch:
        results, report = qa.fetch_sources(only=args.only, arxiv_base=args.arxiv_base, progress=not args.quiet)
        for r in results:
            if r.error:
                _warn(f"not fetched [{r.reference.marker}] {r.reference.label}: {r.error}")
            else:
                print(f"fetched [{r.reference.marker}] {r.reference.label} → {r.path.name}")
        if not results:
            print("nothing to fetch: every cited work with an arXiv id or link is in the corpus")
        if report is not None:
            _report(report, args.quiet)
        return EXIT_SKIPPED if any(r.error for r in results) else EXIT_OK
    for _citing, reference, target in qa.sources():
        if args.missing and target:
            continue
        ids = ", ".join(
            f"{k} {v}" for k, v in (("arXiv", reference.arxiv), ("DOI", reference.doi), ("URL", reference.url)) if v
        )
        status = f"in corpus: {target}" if target else "missing" + (f" ({ids})" if ids else "")
        print(f"[{reference.marker:>3}] {reference.label}  —  {status}")
    return EXIT_OK


def cmd_daemon(args) -> int:
    import threading

    from .resident import ResidentServer

    qa = _qa(args)
    qa.warm()
    server = ResidentServer(qa)
    if not server.start():
        raise ReportQAError(f"cannot answer on {server.path}: another process does, or the path is too long")
    try:
        print(f"answering questions on {server.path} (Ctrl-C stops)", file=sys.stderr, flush=True)
        threading.Event().wait()
    finally:
        server.stop()
    return EXIT_OK


def cmd_serve(args) -> int:
    from .web import serve

    port = args.port or int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    serve(_qa(args), host=args.host, port=port)
    return EXIT_OK


COMMANDS = {
    "build": cmd_build,
    "add": cmd_add,
    "remove": cmd_remove,
    "ask": cmd_ask,
    "batch": cmd_batch,
    "eval": cmd_eval,
    "list": cmd_list,
    "check": cmd_check,
    "fsck": cmd_check,
    "sources": cmd_sources,
    "daemon": cmd_daemon,
    "serve": cmd_serve,
}


if __name__ == "__main__":
    entry()
