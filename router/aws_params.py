"""The config's Parameter Store parameters and Secrets Manager secrets, made at every start and
by ``Router.reset`` (through the clients of :class:`router.aws.Aws`: a handful of requests)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .config import Config

log = logging.getLogger(__name__)


def create(config: Config, client: Callable[[str], Any], *, overwrite: bool = True) -> None:
    """Put every parameter and secret of ``config``. ``overwrite`` False (an external endpoint):
    one that exists is left as it is, as tables are."""
    parameters, secrets = config.resources.parameters, config.resources.secrets
    if parameters:
        ssm = client("ssm")
        for name, p in parameters.items():
            extra = {"Description": p.description} if p.description else {}
            try:  # PutParameter Overwrite: "Overwrite an existing parameter" (default false)
                ssm.put_parameter(Name=name, Value=p.value, Type=p.type, Overwrite=overwrite, **extra)
            except ssm.exceptions.ParameterAlreadyExists:
                log.info("parameter %s exists; left as it is", name)
    if secrets:
        sm = client("secretsmanager")
        for name, value in secrets.items():
            try:
                sm.create_secret(Name=name, SecretString=value)
            except sm.exceptions.ResourceExistsException:
                if overwrite:  # PutSecretValue: a new version, AWSCURRENT
                    sm.put_secret_value(SecretId=name, SecretString=value)
                else:
                    log.info("secret %s exists; left as it is", name)
