"""The playground page in a real browser (Debian's chromium, driven by selenium through chromedriver) against the
live stories260K mesh that scripts/e2e.sh starts: the page loads from the gateway, a prompt is typed, the scale
slider moved, and both columns must fill and differ; then a contrast, an SAE feature found by text search, the
vector and feature pages, an evaluation's three plots, and the API-key dialog of a gateway that has keys.

Addresses come from the environment (scripts/e2e.sh): PLAYGROUND_URL, PLAYGROUND_KEYED_URL and MESH_API_KEY, and
MESH_GATEWAY / MESH_MODEL_SERVICE / MESH_SAE_SERVICE / MESH_VECTOR_SERVICE for the setup through steering_mesh.
Screenshots go to SCREENSHOT_DIR (e2e: a temporary directory; UPDATE_SCREENSHOTS=1 scripts/e2e.sh: docs/images).
"""
import json
import os
import pathlib
import shutil
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from steering_mesh import Mesh, recipes

HOOK = "blocks.2.hook_resid_pre"
SAE_HOOK = "blocks.2.hook_resid_post"
VECTOR_ID = "playground-dog"


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the browser test through scripts/e2e.sh")
    return value


@pytest.fixture(scope="module")
def mesh():
    with Mesh(env("MESH_GATEWAY"), model_service=env("MESH_MODEL_SERVICE"), sae_service=env("MESH_SAE_SERVICE"),
              vector_service=env("MESH_VECTOR_SERVICE"), timeout=120) as m:
        yield m


@pytest.fixture(scope="module")
def vector(mesh):
    """A dog-vs-girl contrast in the registry, calibrated (so that its page has a calibrated scale and a plot)."""
    v = mesh.build_vector(recipes.caa_mean(HOOK, ["The dog barked. The dog ran after the ball."],
                                           ["The girl sang. The girl smiled at her mom."]),
                          VECTOR_ID, overwrite=True, description="dogs, not girls (playground test)")
    from steering_mesh.proto import vector_service_pb2 as vs
    mesh.calibrate_scale(v.id, prompts=["Once upon a time"], scales=[0, 2, 4, 8], samples_per_prompt=1, max_tokens=12,
                         target_text=vs.VectorTargetText(texts=[" The dog barked."])).wait(timeout=300)
    return v


@pytest.fixture(scope="module")
def sae(mesh):
    """An SAE with feature statistics: the Python tests' one when it is there, else a tiny one trained here."""
    for s in mesh.saes():
        if s.has_feature_stats and s.hook.name == SAE_HOOK:
            return s.id
    op = mesh.train_sae(SAE_HOOK, datasets=["tinystories-1000"], max_documents=20, sae_id="playground-tiny", d_sae=128,
                        k=8, max_tokens=4000, epochs=4, spliced_loss_windows=0, top_contexts=4, seed=1, overwrite=True)
    return op.wait(timeout=300).sae.id


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("chromium and chromedriver are needed (scripts/e2e.sh installs Debian's chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                 "--force-device-scale-factor=1", "--renderer-process-limit=2"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shots():
    d = pathlib.Path(os.environ.get("SCREENSHOT_DIR") or "/tmp")
    d.mkdir(parents=True, exist_ok=True)
    return d


def wait(driver, seconds=120):
    # the page re-renders parts of itself (the evaluation's buttons, the columns): an element found a moment before
    # may be replaced before it is checked, which is a reason to look again, not a failure
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def run_and_wait(driver):
    """Waits for the streamed pair to finish; returns the two columns' texts."""
    wait(driver).until(lambda d: d.find_element(By.ID, "run-info").get_attribute("data-state") in ("done", "failed"))
    banner = driver.find_element(By.ID, "banner")
    assert not banner.is_displayed(), banner.text
    assert driver.find_element(By.ID, "run-info").get_attribute("data-state") == "done"
    return driver.find_element(By.ID, "unsteered").text, driver.find_element(By.ID, "steered").text


def choose(driver, select_id, value):
    """Selects an option once the page has loaded the list (the registry, the SAEs, the hooks come asynchronously)."""
    wait(driver).until(lambda d: value in [o.get_attribute("value") for o in Select(d.find_element(By.ID, select_id)).options])
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def open_playground(driver, url):
    driver.get(url + "/")
    wait(driver).until(EC.text_to_be_present_in_element((By.ID, "model-info"), "stories260K"))
    wait(driver).until(EC.presence_of_element_located((By.ID, "prompt")))


def test_vector_steers_the_right_column_and_has_a_page(browser, vector):
    url = env("PLAYGROUND_URL")
    open_playground(browser, url)
    browser.find_element(By.ID, "pick-vector").click()
    choose(browser, "vector-select", VECTOR_ID)
    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys("Once upon a time, there was a little")
    max_tokens = browser.find_element(By.ID, "max-tokens")
    max_tokens.clear()
    max_tokens.send_keys("32")

    # the slider: focus it and step it with the keyboard, as a person would; letting go generates
    slider = browser.find_element(By.ID, "scale")
    before = float(slider.get_attribute("value"))
    slider.send_keys(*([Keys.ARROW_LEFT] * 10))  # 8 -> 3, in steps of 0.5
    assert float(slider.get_attribute("value")) == before - 5
    assert browser.find_element(By.ID, "scale-value").text == "3"
    unsteered, steered = run_and_wait(browser)
    assert unsteered.strip() and steered.strip(), (unsteered, steered)
    assert unsteered != steered, "the steered column must differ from the unsteered one"
    info = browser.find_element(By.ID, "run-info").text
    assert "seed 1" in info and f"{HOOK} x 3" in info, info
    browser.save_screenshot(str(shots() / "playground.png"))

    # "set the slider to it": the scale that strength 1 means, here the calibrated one; and it generates again
    calibrated = json.loads(urllib.request.urlopen(f"{url}/api/vectors/{VECTOR_ID}", timeout=30).read())["calibrated_scale"]
    browser.find_element(By.ID, "vector-strength-1").click()
    assert float(slider.get_attribute("value")) == calibrated
    run_and_wait(browser)
    assert f"{HOOK} x {calibrated:g}" in browser.find_element(By.ID, "run-info").text

    # the vector page: method, provenance, norm, calibrated scale and the calibration plot
    browser.find_element(By.ID, "vector-link").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "v-id"), VECTOR_ID))
    facts = browser.find_element(By.ID, "v-facts").text
    assert "caa_mean" in facts and HOOK in facts, facts
    assert "norm\n1" in facts, facts
    assert "calibrated scale\n" in facts and "not calibrated" not in facts, facts
    assert "The dog barked" in browser.find_element(By.ID, "v-recipe").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#v-calibration svg.chart")) == 3
    browser.save_screenshot(str(shots() / "playground-vector.png"))


def test_contrast_from_sentences_steers(browser):
    open_playground(browser, env("PLAYGROUND_URL"))
    browser.find_element(By.ID, "pick-contrast").click()
    for field, text in (("positive", "The cat purred.\nThe cat chased a mouse."), ("negative", "The boy ran.\nThe boy played ball.")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(text)
    choose(browser, "contrast-hook", HOOK)
    browser.find_element(By.ID, "generate").click()
    unsteered, steered = run_and_wait(browser)
    assert unsteered.strip() and steered.strip() and unsteered != steered


def test_feature_search_steering_and_feature_page(browser, sae):
    open_playground(browser, env("PLAYGROUND_URL"))
    browser.find_element(By.ID, "pick-feature").click()
    choose(browser, "sae-select", sae)
    query = browser.find_element(By.ID, "feature-query")
    query.clear()
    query.send_keys("The little dog ran to the park.")
    browser.find_element(By.ID, "feature-search").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#feature-hits .feature-pick")))
    pick = browser.find_element(By.CSS_SELECTOR, "#feature-hits .feature-pick")
    feature = pick.get_attribute("data-feature")
    pick.click()
    assert f"feature {feature} of {sae}" in browser.find_element(By.ID, "feature-picked").text
    slider = browser.find_element(By.ID, "scale")
    slider.send_keys(*([Keys.ARROW_RIGHT] * 8))  # 8 -> 12, and generates
    unsteered, steered = run_and_wait(browser)
    assert unsteered.strip() and steered.strip() and unsteered != steered

    browser.find_element(By.CSS_SELECTOR, "#feature-hits a").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "f-id"), f"{feature} of {sae}"))
    assert "density" in browser.find_element(By.ID, "f-facts").text
    marks = browser.find_elements(By.CSS_SELECTOR, "#f-contexts mark")
    assert marks and all(m.text for m in marks), "each top context has its token marked"


def start_evaluation(browser, scales, samples):
    """The registry vector picked on the Playground tab, then an evaluation started on the Evaluate tab."""
    open_playground(browser, env("PLAYGROUND_URL"))
    choose(browser, "vector-select", VECTOR_ID)
    browser.find_element(By.LINK_TEXT, "Evaluate").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "e-scales")))
    for field, text in (("e-scales", ",".join(str(x) for x in scales)), ("e-samples", str(samples)),
                        ("e-criterion", "The story is about a dog.")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(text)
    browser.find_element(By.ID, "e-start").click()


def test_evaluate_draws_behaviour_coherence_and_product(browser, vector):
    start_evaluation(browser, [0, 4, 8], 1)
    wait(browser, 300).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#e-plots svg.chart")) == 3)
    titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#e-plots .chart-title")]
    assert titles == ["behaviour", "coherence", "behaviour x coherence"]
    # one line per plot through one point per scale
    for line in browser.find_elements(By.CSS_SELECTOR, "#e-plots polyline"):
        assert len(line.get_attribute("points").split()) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#e-samples-table tbody tr")) == 3
    browser.save_screenshot(str(shots() / "playground-evaluate.png"))


def test_an_evaluation_can_be_cancelled_from_the_page(browser, vector):
    start_evaluation(browser, range(32), 8)
    cancel = wait(browser).until(EC.element_to_be_clickable((By.ID, "e-cancel")))
    cancel.click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "e-status"), "cancelled"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#e-plots svg.chart")


def test_api_key_is_asked_once_and_sent_as_bearer(browser):
    url, key = env("PLAYGROUND_KEYED_URL"), env("MESH_API_KEY")
    # the endpoints honour the key exactly as /v1 does
    for path in ("/api/info", "/v1/models"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + path, timeout=30)
        assert refused.value.code == 401
        ok = urllib.request.urlopen(urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"}), timeout=30)
        assert ok.status == 200
    assert urllib.request.urlopen(url + "/", timeout=30).status == 200, "the page itself is open, so that it can ask"

    browser.get(url + "/")
    browser.execute_script("localStorage.clear()")
    browser.get(url + "/")
    dialog = wait(browser).until(EC.visibility_of_element_located((By.ID, "key-dialog")))
    browser.find_element(By.ID, "key-input").send_keys("wrong-key")
    browser.find_element(By.ID, "key-submit").click()
    wait(browser).until(EC.visibility_of_element_located((By.ID, "key-error")))  # refused: asked again, saying so
    browser.find_element(By.ID, "key-input").send_keys(key)
    browser.find_element(By.ID, "key-submit").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "model-info"), "stories260K"))
    assert not dialog.is_displayed()
    # kept: a reload does not ask again
    browser.get(url + "/")
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "model-info"), "stories260K"))
    assert not browser.find_element(By.ID, "key-dialog").is_displayed()
    assert browser.execute_script("return localStorage.getItem('steering-mesh.api-key')") == key


def test_bad_input_is_400_naming_the_field():
    url = env("PLAYGROUND_URL")
    request = urllib.request.Request(url + "/api/generate", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"prompt": "Once", "max_tokens": 5000,
                                                      "steering": [{"vector_id": VECTOR_ID}]}).encode())
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(request, timeout=30)
    assert bad.value.code == 400
    error = json.loads(bad.value.read())["error"]
    assert error["field"] == "max_tokens" and "[1, 1024]" in error["message"], error
