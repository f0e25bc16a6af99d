# Copyright (c) mmkd-invproj authors. All rights reserved.
"""``_base_ = ['mmkd_invproj::depth/<config>.py']``: this package's configs by package name.

MMEngine 0.10.7 resolves ``<scope>::<path>`` only for the packages of its
``MODULE2PACKAGE`` table, and finds the config files under
``<installed package dir>/.mim/configs/<path>``. This package ships its ``configs/``
folder there (``mmkd_invproj/.mim/configs``: a link to the repository's ``configs/``
in a checkout, copied into a wheel), and :func:`register_config_package` adds the
package to MMEngine's table. ``import mmkd_invproj`` calls it, so every process that
imports the package before loading a config (this package's tools, a notebook,
another project's tool with an ``import mmkd_invproj`` line) resolves the prefix.
The dicts of such a base get ``_scope_='mmkd_invproj'``, a registry scope that falls
through to MMSeg's (:mod:`mmkd_invproj.registry`).
"""
import os.path as osp

#: the config prefix, the module name and the registry scope (``registry.SCOPE``)
CONFIG_SCOPE = 'mmkd_invproj'
#: the pip distribution name
DISTRIBUTION = 'mmkd-invproj'
#: this package's directory (the one Python imports, editable install or not)
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def register_config_package() -> None:
    """Let MMEngine's config loader resolve ``mmkd_invproj::<path>`` (idempotent).

    Adds ``mmkd_invproj`` to ``mmengine.config.utils.MODULE2PACKAGE`` and makes the
    loader's ``get_installed_path`` return :data:`PACKAGE_DIR` for this package.
    MMEngine's own lookup goes through the installed distribution's location, which
    for an editable install (setuptools' import-hook finder) is ``site-packages``,
    where no ``mmkd_invproj`` folder exists.
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault(CONFIG_SCOPE, DISTRIBUTION)
    original = config_module.get_installed_path
    if getattr(original, '_mmkd_invproj', False):
        return

    def get_installed_path(package: str) -> str:
        if package in (DISTRIBUTION, CONFIG_SCOPE):
            return PACKAGE_DIR
        return original(package)

    get_installed_path._mmkd_invproj = True
    get_installed_path.__doc__ = original.__doc__
    config_module.get_installed_path = get_installed_path
