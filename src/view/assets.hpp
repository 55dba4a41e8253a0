// The files the view's page is made of, carried by the program (generated at build time from
// src/view/assets/ and Debian's libjs-three by cmake/embed_assets.cmake; private to src/view/).
#pragma once

#include <string_view>

namespace treesne::view_assets {

std::string_view three_js();        ///< three.min.js of libjs-three (MIT licence), unmodified
std::string_view orbit_controls();  ///< its examples/js/controls/OrbitControls.js, unmodified
std::string_view viewer_js();       ///< src/view/assets/viewer.js
std::string_view viewer_css();      ///< src/view/assets/viewer.css
std::string_view template_html();   ///< src/view/assets/template.html

}  // namespace treesne::view_assets
