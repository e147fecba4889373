"""Resources: where the state lives. Values come from the environment, never from code."""

import os
from pathlib import Path

import dagster as dg

from retention.paths import DATA_DIR_ENV, DataDir


class DataDirResource(dg.ConfigurableResource):
    """The data directory that holds inbox, landing zone, quarantine, warehouse and outbox."""

    root: str

    @property
    def layout(self) -> DataDir:
        return DataDir(Path(self.root).resolve())


def data_dir_resource() -> DataDirResource:
    if os.environ.get(DATA_DIR_ENV):
        return DataDirResource(root=dg.EnvVar(DATA_DIR_ENV))
    return DataDirResource(root=str(DataDir.from_env().root))
