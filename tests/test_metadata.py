"""Reading generator metadata: real samples, then each reader on small synthetic files."""

import gzip
import io
import json
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from gallery.metadata import Generation, extract_raw, interpret, read_generation
from tests.conftest import SAMPLES

AI = SAMPLES / "ai-metadata"
EXPECTED = json.loads((AI / "expected.json").read_text())


def norm(value):
    return None if value is None else value.replace("\r\n", "\n").strip()


def matches(got, want) -> bool:
    if isinstance(want, list):
        wanted = [norm(w) for w in want]
        return norm(got) in wanted or norm(got) == norm("\n".join(want))
    return norm(got) == norm(want)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_samples(samples, name):
    expected = EXPECTED[name]
    found = read_generation(samples / "ai-metadata" / name)
    assert matches(found.prompt, expected["prompt"])
    assert matches(found.negative_prompt, expected["negative_prompt"])
    assert matches(found.model, expected["model"])


@pytest.mark.parametrize("name", ["gimp.jpg", "Designer.jpeg"])
def test_files_without_prompt(samples, name):
    assert read_generation(samples / "ai-metadata" / name).prompt is None


def png(chunks: dict[str, str] | None = None, itxt: dict[str, str] | None = None, **kw) -> bytes:
    info = PngInfo()
    for key, value in (chunks or {}).items():
        info.add_text(key, value)
    for key, value in (itxt or {}).items():
        info.add_itxt(key, value)
    out = io.BytesIO()
    Image.new(kw.get("mode", "RGB"), kw.get("size", (2, 2))).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# --- AUTOMATIC1111 ---------------------------------------------------------------


def test_a1111_prompt_only():
    found = interpret({"parameters": "a red fox in snow"})
    assert (found.prompt, found.negative_prompt, found.model) == ("a red fox in snow", None, None)
    assert found.generator == "AUTOMATIC1111"


def test_a1111_steps_without_negative():
    found = interpret({"parameters": "a fox\nsecond line\nSteps: 20, Sampler: Euler a, Model: m1"})
    assert found.prompt == "a fox\nsecond line"
    assert found.negative_prompt is None
    assert found.model == "m1"


def test_a1111_quoted_settings_and_lines_after_steps():
    text = (
        "a fox, \nmore\nNegative prompt: blurry\nugly\n"
        'Steps: 20, Lora hashes: "a: 1, b: 2", Model: "dream, v2", Size: 512x512\n'
        "Template: a fox"
    )
    found = interpret({"parameters": text})
    assert found.prompt == "a fox, \nmore"
    assert found.negative_prompt == "blurry\nugly"
    assert found.model == "dream, v2"


def user_comment_jpeg(payload: bytes) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = payload
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize("codec", ["utf-16-be", "utf-16-le"])
def test_user_comment_unicode_either_byte_order(codec):
    text = "猫, a cat\nNegative prompt: dog\nSteps: 20, Model: m2"
    found = read_generation(user_comment_jpeg(b"UNICODE\x00" + text.encode(codec)))
    assert (found.prompt, found.negative_prompt, found.model) == ("猫, a cat", "dog", "m2")


def test_user_comment_ascii_header():
    raw = extract_raw(user_comment_jpeg(b"ASCII\x00\x00\x00a plain prompt"))
    assert raw["exif.UserComment"] == "a plain prompt"


def test_latin1_mojibake_is_redecoded():
    text = "テスト cat\nSteps: 20, Model: m3"
    mojibake = text.encode("utf-8").decode("latin-1")
    found = read_generation(png({"parameters": mojibake}))
    assert found.prompt == "テスト cat"


def test_text_chunk_after_idat_is_found():
    data = png()
    late = chunk(b"tEXt", b"parameters\x00late prompt")
    data = data[:-12] + late + data[-12:]  # before IEND
    assert read_generation(data).prompt == "late prompt"


def test_stealth_alpha_pnginfo():
    payload = gzip.compress(b"hidden cat\nNegative prompt: dog\nSteps: 20, Model: m4")
    bits = "".join(f"{b:08b}" for b in b"stealth_pngcomp")
    bits += f"{len(payload) * 8:032b}" + "".join(f"{b:08b}" for b in payload)
    image = Image.new("RGBA", (16, 64), (10, 20, 30, 254))
    for index, bit in enumerate(bits):  # column by column, as the writer does
        image.putpixel((index // 64, index % 64), (10, 20, 30, 254 | int(bit)))
    out = io.BytesIO()
    image.save(out, "PNG")
    found = read_generation(out.getvalue())
    assert (found.prompt, found.negative_prompt, found.model) == ("hidden cat", "dog", "m4")


# --- ComfyUI ---------------------------------------------------------------------


def comfy_graph() -> dict:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1]}},
        "3": {"class_type": "PrimitiveString", "inputs": {"value": "a castle"}},
        "4": {"class_type": "Reroute", "inputs": {"": ["3", 0]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0], "clip": ["2", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a moat", "clip": ["2", 1]}},
        "7": {
            "class_type": "ConditioningCombine",
            "inputs": {"conditioning_1": ["5", 0], "conditioning_2": ["6", 0]},
        },
        "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["2", 1]}},
        "9": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["2", 0],
                "positive": ["7", 0],
                "negative": ["8", 0],
                "latent_image": ["10", 0],
            },
        },
        "10": {"class_type": "EmptyLatentImage", "inputs": {"width": 512}},
        "11": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}},
        "12": {"class_type": "SaveImage", "inputs": {"images": ["11", 0]}},
    }


def test_comfyui_through_reroute_primitive_combine_and_lora():
    found = interpret({"prompt": json.dumps(comfy_graph())})
    assert found.prompt == "a castle"
    assert found.negative_prompt == "fog"
    assert found.model == "base.safetensors"
    assert found.generator == "ComfyUI"


def test_comfyui_guider_and_flux_encoder():
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.sft"}},
        "2": {"class_type": "CLIPTextEncodeFlux", "inputs": {"clip_l": "", "t5xxl": "a lake"}},
        "3": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["2", 0]}},
        "4": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["3", 0]}},
        "5": {"class_type": "SamplerCustomAdvanced", "inputs": {"guider": ["4", 0]}},
    }
    found = interpret({"prompt": json.dumps(graph)})
    assert (found.prompt, found.model) == ("a lake", "flux1-dev.sft")


def test_comfyui_cycle_returns():
    graph = comfy_graph()
    graph["7"]["inputs"]["conditioning_1"] = ["7", 0]
    graph["7"]["inputs"]["conditioning_2"] = ["9", 0]
    graph["2"]["inputs"]["model"] = ["2", 0]
    found = interpret({"prompt": json.dumps(graph)})
    assert found.prompt is None or isinstance(found.prompt, str)


def test_comfyui_workflow_only():
    workflow = {
        "nodes": [
            {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["sd15.ckpt"]},
            {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a tree /* note */"]},
            {"id": 7, "type": "CLIPTextEncode", "widgets_values": ["blur"]},
            {
                "id": 3,
                "type": "KSampler",
                "inputs": [
                    {"name": "model", "link": 1},
                    {"name": "positive", "link": 2},
                    {"name": "negative", "link": 3},
                    {"name": "latent_image", "link": None},
                ],
            },
        ],
        "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 6, 0, 3, 1, "C"], [3, 7, 0, 3, 2, "C"]],
    }
    found = interpret({"workflow": json.dumps(workflow)})
    assert (found.prompt, found.negative_prompt, found.model) == ("a tree", "blur", "sd15.ckpt")


def test_invalid_json_chunks_find_nothing():
    raw = {"prompt": "{not json", "invokeai_metadata": "{", "generation_data": "[1,"}
    assert isinstance(interpret(raw), Generation)


# --- JSON generators -------------------------------------------------------------


def test_easy_diffusion_chunks():
    data = png(
        {
            "prompt": "a lighthouse",
            "negative_prompt": "people",
            "use_stable_diffusion_model": "sd-v1-5",
            "num_inference_steps": "25",
        }
    )
    found = read_generation(data)
    expected = ("a lighthouse", "people", "sd-v1-5")
    assert (found.prompt, found.negative_prompt, found.model) == expected
    assert found.generator == "Easy Diffusion"


def test_draw_things_xmp():
    comment = json.dumps({"c": "an owl", "uc": "text", "model": "sd_xl_base_1.0_f16.ckpt"})
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description rdf:about="">'
        '<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{comment.replace('&', '&amp;').replace('<', '&lt;')}"
        "</rdf:li></rdf:Alt></exif:UserComment>"
        "<xmp:CreatorTool>Draw Things</xmp:CreatorTool>"
        "<xmp:CreateDate>2024-03-01T10:00:00+01:00</xmp:CreateDate>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    found = read_generation(png(itxt={"XML:com.adobe.xmp": xmp}))
    assert (found.prompt, found.negative_prompt) == ("an owl", "text")
    assert found.model == "sd_xl_base_1.0_f16.ckpt"
    assert found.generated_at.isoformat() == "2024-03-01T09:00:00+00:00"


def test_tensorart_generation_data_with_mojibake():
    data = {
        "prompt": "桜 tree",
        "negativePrompt": "lowres",
        "baseModel": {"modelFileName": "anime_v3", "hash": "abc"},
    }
    text = json.dumps(data, ensure_ascii=False).encode("utf-8").decode("latin-1")
    found = read_generation(png({"generation_data": text + "\x00"}))
    assert (found.prompt, found.negative_prompt, found.model) == ("桜 tree", "lowres", "anime_v3")


def test_swarmui_parameters():
    params = {"sui_image_params": {"prompt": "a bee", "negativeprompt": "", "model": "flux/dev"}}
    found = interpret({"parameters": json.dumps(params)})
    assert (found.prompt, found.negative_prompt, found.model) == ("a bee", "", "flux/dev")
    assert found.generator == "SwarmUI"


def test_fooocus_and_ruined_fooocus():
    fooocus = {"prompt": "a fish", "negative_prompt": "", "base_model": "juggernaut"}
    found = interpret({"parameters": json.dumps(fooocus), "fooocus_scheme": "fooocus"})
    assert (found.prompt, found.model, found.generator) == ("a fish", "juggernaut", "Fooocus")
    ruined = {"Prompt": "a bird", "Negative": "x", "base_model_name": "m.safetensors",
              "software": "RuinedFooocus"}  # fmt: skip
    found = interpret({"parameters": json.dumps(json.dumps(ruined))})
    assert (found.prompt, found.negative_prompt, found.model) == ("a bird", "x", "m.safetensors")


def test_invokeai_sd_metadata_and_dream():
    meta = {
        "model_weights": "stable-diffusion-1.5",
        "image": {"prompt": [{"prompt": "a fox [blurry, dark]", "weight": 1.0}], "steps": 50},
    }
    found = interpret({"sd-metadata": json.dumps(meta)})
    assert (found.prompt, found.negative_prompt) == ("a fox", "blurry, dark")
    assert found.model == "stable-diffusion-1.5"
    found = interpret({"Dream": '"a cat on a mat [dog]" -s 50 -S 42 -W 512 -H 512 -C 7.5'})
    assert (found.prompt, found.negative_prompt, found.generator) == (
        "a cat on a mat",
        "dog",
        "InvokeAI",
    )


def test_novelai_comment():
    raw = {
        "Comment": json.dumps({"prompt": "a ship", "uc": "lowres", "steps": 28}),
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V3 7BCCAA2C",
    }
    found = interpret(raw)
    assert (found.prompt, found.negative_prompt, found.model) == (
        "a ship",
        "lowres",
        "NovelAI Diffusion V3 7BCCAA2C",
    )


# --- fallbacks and hostile input -------------------------------------------------


def test_sidecar_txt_and_json(tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(png())
    (tmp_path / "pic.txt").write_text("a prompt from a text file\n", encoding="utf-8")
    assert read_generation(image).prompt == "a prompt from a text file"
    assert read_generation(image, sidecar=False).prompt is None
    (tmp_path / "pic.json").write_text(json.dumps({"prompt": "from json", "model": "m5"}))
    (tmp_path / "pic.txt").unlink()
    found = read_generation(image)
    assert (found.prompt, found.model, found.generator) == ("from json", "m5", "sidecar")


def test_caption_fallback_skips_camera_boilerplate():
    assert interpret({"exif.ImageDescription": "OLYMPUS DIGITAL CAMERA"}).prompt is None
    assert interpret({"exif.ImageDescription": "   "}).prompt is None
    found = interpret({"Description": "a watercolor harbour at dusk"})
    assert (found.prompt, found.generator) == ("a watercolor harbour at dusk", "description")


def test_exif_date_becomes_aware_utc():
    found = interpret({"parameters": "x", "exif.DateTimeOriginal": "2024:05:06 07:08:09"})
    assert found.generated_at.isoformat() == "2024-05-06T07:08:09+00:00"


def test_huge_text_chunk_is_bounded(tmp_path):
    data = png({"parameters": "small prompt"})
    huge = chunk(b"tEXt", b"Comment\x00" + b"a" * (50 * 1024 * 1024))
    path = tmp_path / "huge.png"
    path.write_bytes(data[:-12] + huge + data[-12:])
    del huge
    raw = extract_raw(path)
    assert len(raw["Comment"]) <= 256 * 1024
    assert sum(map(len, raw.values())) <= 1024 * 1024
    assert read_generation(path).prompt == "small prompt"


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_non_images_give_nothing(data):
    assert extract_raw(data) == {}
    assert read_generation(data) == Generation()


def test_missing_path_gives_nothing(tmp_path):
    assert extract_raw(tmp_path / "nope.png") == {}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=200), max_size=8))
def test_interpret_never_raises(raw):
    assert isinstance(interpret(raw), Generation)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["prompt", "workflow", "parameters", "invokeai_metadata", "Comment"]),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
            max_leaves=20,
        ).map(json.dumps),
    )
)
def test_interpret_never_raises_on_random_json(raw):
    assert isinstance(interpret(raw), Generation)
