"""Packaging for mmkd-invproj (cross-task knowledge distillation for OpenMMLab)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version():
    """Read ``__version__`` from ``mmkd_invproj/version.py`` without importing it."""
    scope = {}
    with open(osp.join(HERE, 'mmkd_invproj', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Requirement lines of ``requirements/<fname>``, following ``-r`` includes."""
    reqs = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(osp.basename(line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


setup(
    name='mmkd-invproj',
    version=get_version(),
    description='Cross-task knowledge distillation with the inverted projection '
    '(Auty et al., BMVC 2024) for MMEngine / MMSegmentation',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    # the configs, for `_base_ = ['mmkd_invproj::depth/...']` (MMEngine reads them from
    # <package>/.mim/configs; in a checkout that folder links to configs/)
    package_data={'mmkd_invproj': ['.mim/model-index.yml', '.mim/configs/**/*.py']},
    python_requires='>=3.10',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'mim': parse_requirements('mminstall.txt'),
        'tests': parse_requirements('tests.txt'),
        'all': parse_requirements('runtime.txt') + parse_requirements('mminstall.txt')
        + parse_requirements('tests.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
