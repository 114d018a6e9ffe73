"""The face detector: the vendored model is the one documented, real faces are found once each with sane boxes,
nothing is found where there is no face, odd inputs neither crash nor pass silently, and batching changes nothing."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagger.engine.faces import MAX_BATCH, MODEL_ID, MODEL_SHA256, Face, FaceDetector, FaceModelError, model_path
from tagger.errors import TaggerError
from tests.shared import caltech_files

README = Path(__file__).resolve().parents[3] / "resources" / "faces" / "README.md"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector.open(threads=1)


@pytest.fixture(scope="module")
def caltech_faces() -> list[np.ndarray]:
    """Three Caltech-101 `Faces` photos: one head-and-shoulders person each, roughly centred."""
    out = []
    for path in caltech_files("Faces", 3):
        with Image.open(path) as im:
            out.append(np.asarray(im.convert("RGB")))
    return out


# ------------------------------------------------------------------------------------------------- the model file


def test_vendored_model_matches_the_sha256_its_readme_documents():
    documented = re.search(r"sha256 of `retinaface_mnet025\.onnx`: `([0-9a-f]{64})`", README.read_text())
    assert documented, "resources/faces/README.md must state the model's sha256"
    assert hashlib.sha256(model_path().read_bytes()).hexdigest() == documented.group(1) == MODEL_SHA256


def test_a_damaged_model_file_is_refused_with_a_message_not_a_traceback(tmp_path):
    damaged = tmp_path / "retinaface_mnet025.onnx"
    data = bytearray(model_path().read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: onnxruntime might well load it and answer nonsense
    damaged.write_bytes(bytes(data))
    with pytest.raises(FaceModelError) as err:
        FaceDetector.open(model=damaged)
    assert isinstance(err.value, TaggerError)
    assert "damaged" in str(err.value) and "reinstall" in str(err.value).lower()


def test_a_missing_model_file_is_refused_with_a_message(tmp_path):
    with pytest.raises(FaceModelError, match="missing"):
        FaceDetector.open(model=tmp_path / "nothing.onnx")


def test_the_model_id_names_the_detector_and_its_input_size():
    assert MODEL_ID == "retinaface-mnet025-320"


# ------------------------------------------------------------------------------------------------- real faces


def test_each_caltech_face_photo_gives_one_face_around_the_centre(detector, caltech_faces):
    for rgb in caltech_faces:
        faces = detector.detect(rgb)
        assert len(faces) == 1, faces
        f = faces[0]
        assert f.score >= 0.9
        assert abs(f.x + f.w / 2 - 0.5) < 0.25 and abs(f.y + f.h / 2 - 0.5) < 0.3
        assert 0.1 < f.h < 0.9 and 0.05 < f.w < 0.9  # a head-and-shoulders photo: a face, not a speck or the frame


def test_landmarks_are_five_points_inside_the_face_box(detector, caltech_faces):
    for rgb in caltech_faces:
        (f,) = detector.detect(rgb)
        assert len(f.landmarks) == 10
        xs, ys = f.landmarks[0::2], f.landmarks[1::2]
        assert all(f.x <= x <= f.x + f.w for x in xs) and all(f.y <= y <= f.y + f.h for y in ys)
        assert xs[0] < xs[1], "the two eyes are ordered left to right in the photo"
        assert max(ys[:2]) < ys[2] < min(ys[3:]), "eyes above the nose, the nose above the mouth"


def test_the_box_does_not_depend_on_the_photo_size(detector, caltech_faces):
    """Boxes are relative to the photo: the same photo at twice the size gives the same box (both run at 320 px)."""
    rgb = caltech_faces[0]
    big = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] * 2, rgb.shape[0] * 2), Image.BILINEAR))
    (a,), (b,) = detector.detect(rgb), detector.detect(big)
    assert np.allclose([a.x, a.y, a.w, a.h], [b.x, b.y, b.w, b.h], atol=0.02)


def test_a_face_cut_by_the_frame_gets_a_box_clipped_to_the_photo(detector, caltech_faces):
    rgb = caltech_faces[0]
    (f,) = detector.detect(rgb)
    cut = int((f.x + f.w * 0.35) * rgb.shape[1])  # keep the right 65 % of the face: the box would reach past x = 0
    faces = detector.detect(np.ascontiguousarray(rgb[:, cut:]))
    assert faces, "two thirds of a face is still a face"
    for g in faces:
        assert 0 <= g.x and 0 <= g.y and g.x + g.w <= 1 + 1e-9 and g.y + g.h <= 1 + 1e-9
    assert min(g.x for g in faces) == 0.0


# ------------------------------------------------------------------------------------------------- no faces, odd input


def test_blank_and_noise_images_have_no_face(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.detect(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)) == []


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 1, 3), (50, 2000, 3), (2000, 50, 3), (1, 4000, 3)])
def test_tiny_and_very_elongated_images_do_not_crash(detector, shape):
    faces = detector.detect(np.full(shape, 200, np.uint8))
    assert isinstance(faces, list)


def test_an_empty_image_has_no_face(detector):
    assert detector.detect(np.zeros((0, 10, 3), np.uint8)) == []


def test_greyscale_and_rgba_are_read_as_the_rgb_they_show(detector, caltech_faces):
    rgb = caltech_faces[1]
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    as_rgb = detector.detect(np.repeat(grey[:, :, None], 3, axis=2))
    assert detector.detect(grey) == as_rgb and len(as_rgb) == 1
    assert detector.detect(grey[:, :, None]) == as_rgb
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert detector.detect(rgba) == detector.detect(rgb)


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 2), np.uint8), np.zeros((2, 10, 10, 3), np.uint8),
                                 np.zeros((10, 10, 3), np.float32), np.zeros(10, np.uint8)])
def test_other_arrays_are_refused_with_a_clear_error(detector, bad):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(bad)


# ------------------------------------------------------------------------------------------------- batches, threads


def test_the_cpu_runs_images_one_by_one_because_batches_are_slower_there(detector):
    assert detector.batch == (1 if detector.device == "CPU" else MAX_BATCH)


@pytest.mark.parametrize("batch", [1, 2, 32])
def test_detect_many_equals_detect_one_by_one(detector, caltech_faces, batch):
    batched = FaceDetector.open(threads=1, batch=batch)
    rgb = caltech_faces[0]
    images = [*caltech_faces, np.full((240, 320, 3), 90, np.uint8), np.ascontiguousarray(rgb[:, ::-1]),
              caltech_faces[2], np.full((5, 5, 3), 0, np.uint8), caltech_faces[0], caltech_faces[0][:, :, 0]]
    assert batched.detect_many(images) == [detector.detect(im) for im in images]
    assert batched.detect_many([]) == []


def test_several_threads_may_share_one_detector(detector, caltech_faces):
    expected = [detector.detect(rgb) for rgb in caltech_faces]
    results: dict[int, list[list[Face]]] = {}

    def work(k: int) -> None:
        results[k] = [detector.detect(rgb) for rgb in caltech_faces * 3]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected * 3 for r in results.values())
