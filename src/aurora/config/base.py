"""Base model for configuration sections: unknown keys are errors, values are validated strictly."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A configuration table. Unknown keys are rejected so that typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
