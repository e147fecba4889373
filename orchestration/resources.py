"""Resources: where the state lives. Values come from the environment, never from code."""

import os
from pathlib import Path

import dagster as dg

from retention.paths import DATA_DIR_ENV, DataDir


class DataDirResource(dg.ConfigurableResource):
    """The data directory that holds inbox, landing zone, quarantine, warehouse and outbox.

    Empty `root` means `RETENTION_DATA_DIR` at run time, or `./data`.
    """

    root: str = ""

    @property
    def layout(self) -> DataDir:
        return DataDir(Path(self.root).resolve()) if self.root else DataDir.from_env()


def data_dir_resource() -> DataDirResource:
    if os.environ.get(DATA_DIR_ENV):
        return DataDirResource(root=dg.EnvVar(DATA_DIR_ENV))
    return DataDirResource()
