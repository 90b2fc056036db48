"""The data converter shared by client, worker and replayer (pydantic models as payloads)."""

from temporalio.contrib.pydantic import pydantic_data_converter

data_converter = pydantic_data_converter

__all__ = ["data_converter"]
