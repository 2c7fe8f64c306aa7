"""The guide's `sites` and `synchronization` sections: which sites exist, what travels, and when.

A site is where designers work: its own copy of the library database (mapping rules, audit logs,
user preferences), its own store of deployed library versions, optionally its own KiCad parts
database server. The primary site is this deployment itself (its library database and the
environment named by `synchronization.environment`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from include.config_base import Section, Target

SyncItem = Literal["component_libraries", "mapping_rules", "user_preferences", "audit_logs"]
SYNC_ITEMS: tuple[str, ...] = ("component_libraries", "mapping_rules", "user_preferences", "audit_logs")


class SiteDatabase(Section):
    """A site's library database: an Airflow connection, or a URL without a password (SQLite)."""

    type: Literal["primary", "replica"] = "replica"
    conn_id: str | None = None
    url: str | None = None  # e.g. sqlite:///var/altium2kicad/sites/europe/library.db

    @model_validator(mode="after")
    def _no_password(self) -> SiteDatabase:
        from sqlalchemy.engine import make_url

        if self.url and make_url(self.url).password:
            raise ValueError("url must not hold a password; use conn_id (an Airflow connection)")
        return self


class PartsServer(Section):
    """Where a site's designers read KiCad parts over ODBC, loaded from each synced version."""

    conn_id: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _no_password(self) -> PartsServer:
        from sqlalchemy.engine import make_url

        if self.url and make_url(self.url).password:
            raise ValueError("url must not hold a password; use conn_id (an Airflow connection)")
        return self


class Site(Section):
    location: str = ""
    primary: bool = False
    database: SiteDatabase = SiteDatabase()
    store: Target | None = None  # deployed library versions at the site (the primary's: its environment)
    parts_database: PartsServer | None = None
    sync_mode: Literal["async"] = "async"  # the only mode: sites catch up on their schedule
    sync_frequency: str = "0 * * * *"  # cron for items without a synchronization.schedule entry


class ScheduleEntry(Section):
    item: SyncItem
    cron: str


class Synchronization(Section):
    strategy: Literal["master_slave", "bidirectional"] = "master_slave"
    master_site: str = "hq"
    slave_sites: list[str] = []
    environment: str = "production"  # whose deployed versions are the sites' component libraries
    sync_items: list[SyncItem] = list(SYNC_ITEMS)  # type: ignore[arg-type]
    conflict_resolution: Literal["master_wins", "last_write_wins", "merge"] = "master_wins"
    batch_size: int = Field(500, ge=1)  # rows per committed batch (a killed sync resumes from there)
    lag_threshold_minutes: float = Field(360, gt=0)  # a site further behind notifies
    schedule: list[ScheduleEntry] = []

    @model_validator(mode="after")
    def _consistent(self) -> Synchronization:
        if self.strategy == "master_slave" and self.conflict_resolution != "master_wins":
            raise ValueError(
                "strategy master_slave resolves every conflict as master_wins; "
                "last_write_wins and merge need strategy: bidirectional"
            )
        if self.strategy == "bidirectional" and self.conflict_resolution == "master_wins":
            raise ValueError("strategy bidirectional needs conflict_resolution last_write_wins or merge")
        scheduled = [e.item for e in self.schedule]
        twice = sorted({i for i in scheduled if scheduled.count(i) > 1})
        if twice:
            raise ValueError(f"schedule names {', '.join(twice)} more than once")
        stray = sorted(set(scheduled) - set(self.sync_items))
        if stray:
            raise ValueError(f"schedule names {', '.join(stray)}, which sync_items does not list")
        return self

    def scheduled_items(self) -> dict[str, str]:
        """item -> cron, for the items with their own schedule entry."""
        return {e.item: e.cron for e in self.schedule}

    def unscheduled_items(self) -> list[str]:
        """Items that follow each site's sync_frequency."""
        own = self.scheduled_items()
        return [i for i in self.sync_items if i not in own]
