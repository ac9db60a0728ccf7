# The dashboard of `baton serve` (web/, docs/dashboard.md): its npm dependencies installed
# with `npm ci` into the build directory (only when web/package-lock.json changes; never
# a node_modules in the source tree), bundled by esbuild (web/build.mjs), and embedded
# as byte arrays in BUILD/generated/dashboard_assets.cc (cmake/embed_assets.cmake),
# which implements src/serve/assets.h in baton_serve. Needs node and npm (Debian nodejs
# npm, scripts/setup) and, for `npm ci`, npm's cache or else the npm registry.
find_program(BATON_NODE node)
find_program(BATON_NPM npm)
if(NOT BATON_NODE OR NOT BATON_NPM)
  message(FATAL_ERROR "the dashboard needs node and npm: run scripts/setup "
                      "(Debian packages nodejs npm)")
endif()

set(BATON_WEB_DIR ${CMAKE_BINARY_DIR}/web)
set(BATON_WEB_MODULES ${BATON_WEB_DIR}/node_modules)
set(BATON_WEB_DIST ${BATON_WEB_DIR}/dist)
set(BATON_WEB_STAMP ${BATON_WEB_DIR}/npm-ci.stamp)
add_custom_command(
  OUTPUT ${BATON_WEB_STAMP}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${BATON_WEB_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/web/package.json
          ${CMAKE_SOURCE_DIR}/web/package-lock.json ${BATON_WEB_DIR}
  COMMAND ${BATON_NPM} ci --prefix ${BATON_WEB_DIR} --prefer-offline --no-audit --no-fund
          --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch ${BATON_WEB_STAMP}
  DEPENDS ${CMAKE_SOURCE_DIR}/web/package.json ${CMAKE_SOURCE_DIR}/web/package-lock.json
  COMMENT "npm ci: the dashboard's dependencies (web/package-lock.json) into ${BATON_WEB_DIR}"
  VERBATIM)

file(GLOB BATON_WEB_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/src/*)
set(BATON_WEB_BUNDLE ${BATON_WEB_DIST}/index.html ${BATON_WEB_DIST}/assets/app.js
    ${BATON_WEB_DIST}/assets/app.css ${BATON_WEB_DIST}/assets/layout-worker.js
    ${BATON_WEB_DIST}/assets/favicon.svg)
add_custom_command(
  OUTPUT ${BATON_WEB_BUNDLE}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${BATON_WEB_DIST}
  COMMAND ${BATON_NODE} ${CMAKE_SOURCE_DIR}/web/build.mjs --modules ${BATON_WEB_MODULES}
          --out ${BATON_WEB_DIST}
  DEPENDS ${BATON_WEB_STAMP} ${BATON_WEB_SOURCES} ${CMAKE_SOURCE_DIR}/web/index.html
          ${CMAKE_SOURCE_DIR}/web/build.mjs
  COMMENT "esbuild: bundling the dashboard (web/) into ${BATON_WEB_DIST}"
  VERBATIM)

set(BATON_DASHBOARD_CC ${CMAKE_BINARY_DIR}/generated/dashboard_assets.cc)
add_custom_command(
  OUTPUT ${BATON_DASHBOARD_CC}
  COMMAND ${CMAKE_COMMAND} -DDIST=${BATON_WEB_DIST} -DOUT=${BATON_DASHBOARD_CC}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${BATON_WEB_BUNDLE} ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding the dashboard in ${BATON_DASHBOARD_CC}"
  VERBATIM)

target_sources(baton_serve PRIVATE ${BATON_DASHBOARD_CC})

# The dashboard's end-to-end tests (tests/browser/, label browser): the built baton
# serves throwaway projects to Debian's chromium (scripts/setup-browser) driven by
# playwright-core from the npm install above. One browser at a time (RESOURCE_LOCK);
# screenshots of each view land in BUILD/screenshots/.
add_test(NAME browser_dashboard
         COMMAND ${BATON_NODE} --test --test-concurrency=1
                 ${CMAKE_SOURCE_DIR}/tests/browser/dashboard.test.js)
set_tests_properties(browser_dashboard PROPERTIES
    LABELS browser RESOURCE_LOCK browser TIMEOUT 900
    ENVIRONMENT "BATON_BINARY=$<TARGET_FILE:baton>;BATON_SCREENSHOTS=${CMAKE_BINARY_DIR}/screenshots;NODE_PATH=${BATON_WEB_MODULES}")
