"""`OutputWriter`: one output of one input, from streamed batches to sink parts.

Each batch is validated against the output's contract; valid rows get the lineage columns and go
to the output's part, quarantined rows (with their context) to the `{output}_quarantine` part,
and the first valid rows are kept as a preview. Nothing is published here: the input's run
commits every output's parts together, or aborts them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from casparian_core import stage_times
from casparian_core.contracts.model import QUARANTINE_SUFFIX, OutputSpec
from casparian_core.engine import errors
from casparian_core.engine.results import OutputResult

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from casparian_core.contracts.lineage import ConstantColumns
    from casparian_core.sinks import PartInfo, PartWriter, Sink


@dataclass(frozen=True)
class InputParts:
    """Where one input's parts go and the constant columns its rows carry: shared by the
    writers of that input's outputs."""

    sink: Sink
    part_key: str
    info: PartInfo
    lineage: ConstantColumns
    quarantine_context: ConstantColumns

    def begin(self, output: str, spec: OutputSpec) -> PartWriter:
        from casparian_core.contracts.validate import valid_schema

        schema = self.lineage.schema_for(valid_schema(spec))
        return self.sink.begin(output, self.part_key, schema, self.info)

    def begin_quarantine(self, output: str) -> PartWriter:
        from casparian_core.contracts.validate import QUARANTINE_SCHEMA

        schema = self.quarantine_context.schema_for(QUARANTINE_SCHEMA)
        return self.sink.begin(output + QUARANTINE_SUFFIX, self.part_key, schema, self.info)

    def has_part(self, output: str) -> bool:
        return self.sink.has_part(output, self.part_key)


@dataclass
class OutputWriter:
    """Validates, writes and counts the batches of one output of one input."""

    name: str
    spec: OutputSpec
    parts: InputParts
    writer: PartWriter
    result: OutputResult
    preview_rows: int
    quarantine: PartWriter | None = None
    row_offset: int = 0
    _preview: list[pa.Table] = field(default_factory=list)
    _previewed: int = 0

    @classmethod
    def open(
        cls, name: str, spec: OutputSpec, inferred: bool, parts: InputParts, preview_rows: int
    ) -> OutputWriter:
        writer = parts.begin(name, spec)
        result = OutputResult(name, parts.sink.location(name), spec=spec, inferred=inferred)
        return cls(name, spec, parts, writer, result, preview_rows)

    def write(self, table: pa.Table) -> None:
        from casparian_core.contracts.validate import validate_batch

        with stage_times.stage("validation"):
            checked = validate_batch(table, self.spec, self.row_offset)
        self.row_offset += table.num_rows
        with stage_times.stage("lineage and write"):
            if checked.valid.num_rows:
                self.writer.write(self.parts.lineage.append_to(checked.valid))
                self._keep_preview(checked.valid)
            if checked.quarantined.num_rows:
                if self.quarantine is None:
                    self.quarantine = self.parts.begin_quarantine(self.name)
                quarantined = self.parts.quarantine_context.append_to(checked.quarantined)
                self.quarantine.write(quarantined)
        self.result.rows += checked.valid.num_rows
        self.result.quarantined += checked.quarantined.num_rows
        self.result.reasons.update(checked.reasons)

    def check_quarantine_limit(self, input_path: Path) -> None:
        from casparian_core.engine.report import top_reasons

        limit = self.spec.max_quarantine_pct
        quarantined = self.result.quarantined
        total = self.result.rows + quarantined
        if limit is None or not total:
            return
        share = 100 * quarantined / total
        if share > limit:
            raise errors.QuarantineLimitError(
                f"{input_path}: output '{self.name}' quarantined {share:.1f}% of its rows "
                f"({quarantined} of {total}), above its limit of {limit:g}% "
                f"(_max_quarantine_pct); nothing was written. "
                f"Most often: {top_reasons(self.result)}"
            )

    def parts_to_commit(self) -> list[PartWriter]:
        """The output's part, and its quarantine part; an empty quarantine part when this run
        quarantined nothing but an earlier one did, so the rerun replaces it."""
        if self.quarantine is None and self.parts.has_part(self.name + QUARANTINE_SUFFIX):
            self.quarantine = self.parts.begin_quarantine(self.name)
        return [self.writer] if self.quarantine is None else [self.writer, self.quarantine]

    def abort(self) -> None:
        self.writer.abort()
        if self.quarantine is not None:
            self.quarantine.abort()

    def final_result(self) -> OutputResult:
        """The output's counts, with the preview of its first valid rows."""
        import pyarrow as pa

        if self._preview:
            self.result.preview = pa.concat_tables(self._preview)
        return self.result

    def _keep_preview(self, valid: pa.Table) -> None:
        wanted = self.preview_rows - self._previewed
        if wanted > 0:
            piece = valid.slice(0, wanted)
            self._preview.append(piece)
            self._previewed += piece.num_rows
