"""The pix2pix dataset layout: the archive converter on a tiny archive built from real
photos, the dataset (paired, unpaired, colorization), the transforms and the data
preprocessor."""
import importlib.util
import io
import os.path as osp
import random
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from mmkd_invproj.translation import (LoadTranslationImages, PackTranslationInputs,
                                      TranslationDataPreprocessor, TranslationDataset,
                                      TranslationResizeCrop)

from .conftest import REPO

spec = importlib.util.spec_from_file_location(
    'pix2pix_converter', osp.join(REPO, 'tools/dataset_converters/pix2pix.py'))
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Pipelines are built in the config's default scope (a Runner sets 'mmseg')."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


PHOTOS = ('sunrgbd_0000', 'tum_0000', 'redwood_0000', 'redwood_0001')


def real_photo(shared_dir, name, size=(24, 24)):
    path = osp.join(shared_dir, 'data', 'nyu_mini', 'images', 'train', f'{name}.jpg')
    return np.asarray(Image.open(path).convert('RGB').resize(size))


def side_by_side(a, b):
    return np.concatenate([a, b], axis=1)


def png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format='PNG')
    return buf.getvalue()


@pytest.fixture
def pairs(shared_dir):
    """Real A|B images (A: one photo, B: another) 48 x 24, lossless."""
    photos = [real_photo(shared_dir, n) for n in PHOTOS]
    return {f'{i}.png': side_by_side(photos[i], photos[(i + 1) % 4]) for i in range(4)}


@pytest.fixture
def archive(tmp_path, pairs):
    """facades.tar.gz as published: facades/{train,val,test}/*.png, plus entries to skip."""
    path = str(tmp_path / 'facades.tar.gz')
    members = {'facades/train/0.png': pairs['0.png'], 'facades/train/1.png': pairs['1.png'],
               'facades/val/2.png': pairs['2.png'], 'facades/test/3.png': pairs['3.png']}
    with tarfile.open(path, 'w:gz') as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, array in members.items():
            add(name, png_bytes(array))
        add('facades/train/._0.png', b'macos metadata')
        add('facades/README.txt', b'text')
        add('facades/test/odd.png', png_bytes(pairs['0.png'][:, :30]))  # not 2:1
        add('../evil/train/x.png', png_bytes(pairs['0.png']))
    return path


def test_converter_writes_the_official_layout(tmp_path, archive, pairs):
    out = str(tmp_path / 'data' / 'facades')
    counts = converter.convert(archive, out)
    assert counts == {'train': 2, 'val': 1, 'test': 2, 'not_side_by_side': 1}
    for split, name in (('train', '0.png'), ('train', '1.png'), ('val', '2.png'),
                        ('test', '3.png')):
        assert np.array_equal(np.asarray(Image.open(osp.join(out, split, name))), pairs[name])
    assert not osp.exists(osp.join(out, 'train', '._0.png'))
    assert not osp.exists(str(tmp_path / 'data' / 'evil'))  # '..' members are skipped
    with pytest.raises(ValueError, match='no image under'):
        converter.convert(str(tmp_path / 'data' / 'facades' / 'train'), str(tmp_path / 'x'))


def pipeline(mode='aligned', direction='AtoB', shared=True, load=24, crop=24,
             flip=False, half=None):
    return [dict(type='LoadTranslationImages', mode=mode, direction=direction, half=half),
            dict(type='TranslationResizeCrop', load_size=load, crop_size=crop, flip=flip,
                 shared=shared),
            dict(type='PackTranslationInputs')]


def test_paired_dataset_splits_a_b_halves(tmp_path, archive, pairs):
    root = str(tmp_path / 'facades')
    converter.convert(archive, root)
    ds = TranslationDataset(data_root=root, split='train', pipeline=pipeline())
    assert len(ds) == 2
    item = ds[1]
    a, b = item['inputs']['A'], item['inputs']['B']
    assert a.dtype == torch.uint8 and a.shape == (3, 24, 24)
    assert np.array_equal(a.permute(1, 2, 0).numpy(), pairs['1.png'][:, :24])
    assert np.array_equal(b.permute(1, 2, 0).numpy(), pairs['1.png'][:, 24:])
    assert item['data_samples'].img_path.endswith('1.png')
    swapped = TranslationDataset(data_root=root, split='train',
                                 pipeline=pipeline(direction='BtoA'))[1]
    assert torch.equal(swapped['inputs']['A'], b) and torch.equal(swapped['inputs']['B'], a)


def test_shared_crop_and_flip_keep_pairs_aligned(tmp_path, shared_dir):
    photo = real_photo(shared_dir, 'tum_0000', size=(40, 30))
    path = str(tmp_path / 'same.png')
    Image.fromarray(side_by_side(photo, photo)).save(path)  # A == B
    random.seed(0)
    results = dict(img_path=path)
    LoadTranslationImages().transform(results)
    same = TranslationResizeCrop(load_size=(30, 40), crop_size=16, flip=True, shared=True)
    indep = TranslationResizeCrop(load_size=(30, 40), crop_size=16, flip=True, shared=False)

    def a_equals_b(transform):
        out = transform.transform(dict(results))
        return np.array_equal(out['img_A'], out['img_B'])

    assert all(a_equals_b(same) for _ in range(10))
    assert not all(a_equals_b(indep) for _ in range(10))
    with pytest.raises(ValueError, match='exceeds'):
        TranslationResizeCrop(load_size=16, crop_size=32)


def test_unpaired_dataset_draws_b_uniformly_over_the_split(tmp_path, archive):
    root = str(tmp_path / 'facades')
    converter.convert(archive, root)
    random.seed(0)
    ds = TranslationDataset(data_root=root, split='train', paired=False,
                            pipeline=pipeline(shared=False))
    partners = {osp.basename(ds.get_data_info(0)['img_path_B']) for _ in range(40)}
    assert partners == {'0.png', '1.png'}  # uniform over the split (the official unaligned)
    meta = ds[0]['data_samples'].metainfo
    assert 'img_path_B' in meta


def test_colorization_mode_grey_input_colour_target(tmp_path, shared_dir):
    photo = real_photo(shared_dir, 'sunrgbd_0000')
    other = real_photo(shared_dir, 'tum_0000')
    path = str(tmp_path / 'ab.png')
    Image.fromarray(side_by_side(photo, other)).save(path)
    for half, colour in ((None, side_by_side(photo, other)), ('left', photo), ('right', other)):
        results = LoadTranslationImages(mode='colorization', half=half).transform(
            dict(img_path=path))
        assert np.array_equal(results['img_B'], colour)
        grey = np.asarray(Image.fromarray(colour).convert('L'))
        assert np.array_equal(results['img_A'], np.repeat(grey[..., None], 3, axis=2))


def test_missing_dataset_says_what_to_download_and_where(tmp_path):
    root = str(tmp_path / 'data' / 'maps')
    with pytest.raises(FileNotFoundError) as err:
        TranslationDataset(data_root=root, split='train', pipeline=pipeline())
    msg = str(err.value)
    assert 'maps.tar.gz' in msg and 'https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/' in msg
    assert f'tools/dataset_converters/pix2pix.py maps.tar.gz {root}' in msg


def test_preprocessor_rgb_and_lab(shared_dir):
    photo = torch.from_numpy(real_photo(shared_dir, 'redwood_0000').copy()).permute(2, 0, 1)
    grey = photo.float().mean(0, keepdim=True).round().to(torch.uint8).repeat(3, 1, 1)
    data = dict(inputs=dict(A=[grey], B=[photo]), data_samples=None)
    rgb = TranslationDataPreprocessor('rgb')
    out = rgb(data)['inputs']
    assert torch.allclose(out['B'], photo[None].float() / 127.5 - 1)
    assert torch.equal(rgb.to_uint8(out['B'], 'B'), photo[None])  # exact inverse
    assert torch.equal(rgb.teacher_input(out['A']), out['A'])
    lab = TranslationDataPreprocessor('lab')
    out = lab(data)['inputs']
    assert out['A'].shape == (1, 1, 24, 24) and out['B'].shape == (1, 2, 24, 24)
    assert out['A'].min() >= -1 and out['A'].max() <= 1
    back = lab.to_uint8(out['B'], 'B', source=out['A'])
    assert (back.int() - photo[None].int()).abs().max() <= 1  # L from the colour image
    assert lab.teacher_input(out['A']).shape == (1, 3, 24, 24)
    with pytest.raises(KeyError, match='domain B'):
        lab(dict(inputs=dict(A=[grey]), data_samples=None))


def test_converter_dataset_and_readers_take_the_same_image_files(tmp_path, pairs):
    """One list of image extensions (any case) for the converter, the dataset, the
    inference inputs and the benchmark frames; hidden files are left out. Before, the
    converter dropped the .tif pairs the dataset reads."""
    from mmkd_invproj.analysis.benchmark import load_frames
    from mmkd_invproj.apis import inference
    from mmkd_invproj.translation import dataset
    assert converter.PIX2PIX_URL is dataset.PIX2PIX_URL
    train = tmp_path / 'download' / 'facades' / 'train'
    train.mkdir(parents=True)
    Image.fromarray(pairs['0.png']).save(train / '0.tif')
    Image.fromarray(pairs['1.png']).save(train / '1.TIFF', format='TIFF')
    Image.fromarray(pairs['2.png']).save(train / '.2.png')  # hidden
    Image.fromarray(pairs['3.png']).save(train / '._3.png')  # macOS metadata
    (train / 'notes.txt').write_text('x')
    root = str(tmp_path / 'facades')
    assert converter.convert(str(tmp_path / 'download'), root) == {'train': 2}
    ds = TranslationDataset(data_root=root, split='train', pipeline=pipeline())
    assert [osp.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))] == [
        '0.tif', '1.TIFF']
    for i, name in enumerate(('0.png', '1.png')):
        a = ds[i]['inputs']['A'].permute(1, 2, 0).numpy()
        assert np.array_equal(a, pairs[name][:, :24])
    assert [n for _, n in inference.iter_inputs([str(train)])] == ['0', '1']
    frames = load_frames([str(train), str(tmp_path / 'nowhere')], 3, (8, 16))
    assert [f.shape for f in frames] == [(8, 16, 3)] * 3
    import mmcv
    expected = mmcv.imresize(mmcv.imread(str(train / '0.tif')), (16, 8))
    assert np.array_equal(frames[0], expected) and np.array_equal(frames[2], expected)
