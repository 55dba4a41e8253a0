#!/usr/bin/env python3
"""Takes a screenshot of a page of `treesne view` in headless Chromium (as the README's pictures were made).

    tools/view_screenshot.py PAGE.html OUT.png [--size 1400x900] [--hover INDEX] [--pin INDEX]
                             [--search TEXT] [--rotate DX] [--frame F]

Waits until the page is ready (and prints how long that took), then, as asked, searches, pins the
thumbnail of a point (a click on it), rotates a 3-D view by a drag of DX pixels, shows a frame, or moves
the mouse over a point so that its tooltip shows. Needs chromium, chromium-driver and python3-selenium
(tools/install_deps.sh); run it with Debian's /usr/bin/python3.
"""
import argparse
import pathlib
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.keys import Keys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page")
    ap.add_argument("out")
    ap.add_argument("--size", default="1400x900")
    ap.add_argument("--hover", type=int)
    ap.add_argument("--pin", type=int)
    ap.add_argument("--search")
    ap.add_argument("--rotate", type=int)
    ap.add_argument("--frame", type=float)
    a = ap.parse_args()
    width, height = a.size.split("x")
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", f"--window-size={width},{height}",
                "--force-device-scale-factor=1"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        start = time.time()
        driver.get(pathlib.Path(a.page).resolve().as_uri())
        while not driver.execute_script("return window.treesneView && (treesneView.ready || treesneView.error)"):
            time.sleep(0.05)
        error = driver.execute_script("return treesneView.error")
        if error:
            sys.exit(f"view_screenshot.py: the page failed: {error}")
        print(f"ready in {time.time() - start:.1f} s (page's own clock: {driver.execute_script('return treesneView.readyMs')} ms)")
        if a.search:
            driver.find_element("id", "search").send_keys(a.search, Keys.ENTER)
        if a.frame is not None:
            driver.execute_script("treesneView.setFrame(arguments[0])", a.frame)
        if a.rotate:
            move([(width_half := int(width) // 2, int(height) // 2), (width_half + a.rotate, int(height) // 2 + 10)],
                 driver, press=True)
        if a.pin is not None:
            x, y = driver.execute_script("return treesneView.screenPosition(arguments[0])", a.pin)
            move([(x, y)], driver, click=True)
        if a.hover is not None:
            x, y = driver.execute_script("return treesneView.screenPosition(arguments[0])", a.hover)
            move([(x, y)], driver)
        time.sleep(0.3)
        driver.save_screenshot(a.out)
    finally:
        driver.quit()


def move(points, driver, press=False, click=False):
    actions = ActionBuilder(driver, duration=20)
    p = actions.pointer_action
    p.move_to_location(int(points[0][0]), int(points[0][1]))
    if press:
        p.pointer_down()
        for x, y in points[1:]:
            p.move_to_location(int(x), int(y))
        p.pointer_up()
    if click:
        p.click()
    actions.perform()


if __name__ == "__main__":
    main()
