"""Read-only tools over the catalogue: sources, tags, files (paged), a file's head and preview."""

from __future__ import annotations

from pydantic import Field

from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolOutput,
    as_json,
    fitting,
)
from casparian_core.scout.preview import Preview, PreviewMode
from casparian_core.scout.queries import UNTAGGED, FileQuery

PAGE_MAX = 200
HEAD_MAX_BYTES = 12 * 1024
HEAD_BYTES = 4096
PREVIEW_MAX_ROWS = 50
TAGS_MAX = 200
COUNT_AT_MOST = 100_000  # beyond, a count says "more than": counting stops there


class NoParams(Params):
    pass


async def list_sources(env: ToolEnv, params: NoParams) -> ToolOutput:
    sources = await env.service.scout.sources()
    rows = [
        {"name": s.name, "path": s.path, "files": s.files, "missing": s.missing, "watch": s.watch}
        for s in sources
    ]
    return ToolOutput(as_json({"sources": rows}), f"{len(rows)} sources")


async def list_tags(env: ToolEnv, params: NoParams) -> ToolOutput:
    counts = await env.service.scout.tags()
    shown = counts.tags[:TAGS_MAX]
    result: dict[str, object] = {
        "tags": [{"tag": tag, "files": n} for tag, n in shown],
        "untagged_files": counts.untagged,
        "total_files": counts.total,
    }
    if len(counts.tags) > len(shown):
        result["note"] = f"first {len(shown)} of {len(counts.tags)} tags shown"
    return ToolOutput(as_json(result), f"{len(counts.tags)} tags, {counts.untagged} untagged")


class ListFiles(Params):
    source: str | None = Field(None, description="only files of the source with this name")
    tag: str | None = Field(None, description="only files with this tag")
    untagged: bool = Field(False, description="only files without a tag")
    glob: str | None = Field(None, description="a glob over the path inside the source")
    offset: int = Field(0, ge=0, description="rows to skip (paging)")
    limit: int = Field(50, ge=1, le=PAGE_MAX, description="rows to return")


FILE_COLUMNS = ["id", "path", "size", "kind", "tag", "status"]
ROOM_FOR_THE_REST = 1024  # the page's other fields and the note


async def list_files(env: ToolEnv, params: ListFiles) -> ToolOutput:
    query = await file_query(env, params.source, params.tag, params.untagged, params.glob)
    page = await env.service.scout.files_page(query, offset=params.offset, limit=params.limit)
    total = await env.service.scout.count_files(query, at_most=COUNT_AT_MOST)
    rows = [[f.id, f.rel_path, f.size, f.kind, f.tag, f.status] for f in page.rows]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    counted = f"more than {COUNT_AT_MOST}" if total > COUNT_AT_MOST else str(total)
    result: dict[str, object] = {
        "columns": FILE_COLUMNS,
        "files": shown,
        "offset": params.offset,
        "matching": counted,
    }
    if len(shown) < len(rows):
        result["note"] = f"page cut to {len(shown)} files to fit; ask for the next page"
    if page.has_more or len(shown) < len(rows):
        result["next_offset"] = params.offset + len(shown)
    return ToolOutput(as_json(result), f"{len(shown)} of {counted} files")


async def file_query(
    env: ToolEnv, source: str | None, tag: str | None, untagged: bool, glob: str | None
) -> FileQuery:
    source_id = (await env.service.scout.find_source(source)).id if source else None
    return FileQuery(source_id=source_id, tag=UNTAGGED if untagged else tag, glob=glob)


class FileId(Params):
    file_id: int = Field(description="the file's id (from list_files)")


class FileHead(FileId):
    max_bytes: int = Field(
        HEAD_BYTES, ge=256, le=HEAD_MAX_BYTES, description="bytes of text to show"
    )


async def file_head(env: ToolEnv, params: FileHead) -> ToolOutput:
    preview = await env.service.scout.preview(params.file_id)
    text = _preview_text(preview)
    data = text.encode()
    head = data[: params.max_bytes].decode(errors="ignore")
    result: dict[str, object] = {
        "path": preview.rel_path,
        "kind": preview.kind,
        "encoding": preview.encoding,
        "head": head,
    }
    if len(data) > params.max_bytes or preview.truncated:
        result["note"] = f"only the first {len(head.encode())} bytes are shown"
    return ToolOutput(as_json(result), f"{preview.rel_path}: {preview.kind}, {len(head)} chars")


class PreviewFile(FileId):
    rows: int = Field(20, ge=1, le=PREVIEW_MAX_ROWS, description="table rows to show")


async def preview_file(env: ToolEnv, params: PreviewFile) -> ToolOutput:
    preview = await env.service.scout.preview(params.file_id)
    if preview.mode is not PreviewMode.TABLE:
        return await file_head(env, FileHead(file_id=params.file_id, max_bytes=HEAD_BYTES))
    rows = preview.rows[: params.rows]
    result: dict[str, object] = {
        "path": preview.rel_path,
        "kind": preview.kind,
        "header": preview.header,
        "rows": rows,
    }
    if len(preview.rows) > len(rows) or preview.truncated:
        result["note"] = f"first {len(rows)} rows shown"
    return ToolOutput(as_json(result), f"{preview.rel_path}: {len(rows)} rows")


def _preview_text(preview: Preview) -> str:
    if preview.mode is PreviewMode.TABLE:
        lines = [",".join(preview.header), *(",".join(row) for row in preview.rows)]
        return "\n".join(lines)
    return preview.text


TOOLS = (
    Tool(
        "list_sources",
        "The catalogued sources (folders): name, path, file counts.",
        NoParams,
        list_sources,
    ),
    Tool("list_tags", "The tags and how many files carry each.", NoParams, list_tags),
    Tool(
        "list_files",
        "A page of catalogued files (rows of id, path, size, kind, tag, status), filtered by "
        "source, tag (or untagged) and glob; gives file ids for the other tools, the number "
        "matching and the next page's offset.",
        ListFiles,
        list_files,
    ),
    Tool(
        "file_head",
        "The first bytes of a file as text (hex for binary) and its sniffed kind and encoding.",
        FileHead,
        file_head,
    ),
    Tool(
        "preview_file",
        "A file's first rows as a table (CSV/TSV), or its head for other kinds.",
        PreviewFile,
        preview_file,
    ),
)
