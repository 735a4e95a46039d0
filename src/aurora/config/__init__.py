"""Aurora configuration: one TOML file, every key overridable from the environment.

The schema is a tree of pydantic models, one module per section, so each component owns its keys.
``load_config`` turns every problem into a :class:`~aurora.errors.ConfigError` naming the key.
"""

from aurora.config.loader import ENV_PREFIX, AuroraConfig, default_config_path, load_config

__all__ = ["ENV_PREFIX", "AuroraConfig", "default_config_path", "load_config"]
