"""A third-party-style source used by the tests: a tiny CRM export with person hints."""

from __future__ import annotations

from pathlib import Path

from truefans.ingest.common import find_header, stage_csv
from truefans.ingest.registry import Detection, StageContext, StagedTable

HEADER = [["fakecrm id"], ["email"], ["when"]]


class FakeCrm:
    name = "fakecrm"
    description = "test-only CRM export: one outcome per row, people by email/phone/LinkedIn"
    detection_rule = "header with 'FakeCRM id', 'email', 'when'"

    def detect(self, path: Path, head: bytes) -> Detection | None:
        if find_header(head, HEADER):
            return Detection(self.name, 0.95, "FakeCRM header", "outcomes")
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = ctx.path.read_bytes()[:65536]
        header = find_header(head, HEADER)
        assert header is not None
        raw = f"{ctx.prefix}_fc"
        rows, rejects, note = stage_csv(ctx, header, raw)
        rel = f"{ctx.prefix}_fc_out"
        ctx.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT __row,
                'fakecrm:' || "fakecrm id" AS outcome_id, "when" AS ts, 'order' AS type,
                amount AS value, 'USD' AS currency, NULLIF(channel, '') AS channel_id,
                email AS __email, phone AS __phone, linkedin AS __profile_url,
                name AS __name, company AS __company
            FROM "{raw}" """
        )
        ctx.con.execute(f'DROP TABLE "{raw}"')
        return [StagedTable("outcomes", rel, rows, rejects, note)]
