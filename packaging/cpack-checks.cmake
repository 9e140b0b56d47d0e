# Read by cpack (CPACK_PROJECT_CONFIG_FILE) before it builds the package:
# refuse a package that would put files in the wrong places or carry a
# version its changelog does not describe.
if(NOT CPACK_JIT_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "jit: this tree is configured with CMAKE_INSTALL_PREFIX="
    "${CPACK_JIT_INSTALL_PREFIX}; the Debian package needs /usr (pam_jit.so in "
    "the multiarch PAM directory, ExecStart=/usr/bin/jitctl). Reconfigure with "
    "-DCMAKE_INSTALL_PREFIX=/usr.")
endif()
if(NOT CPACK_JIT_CHANGELOG_VERSION STREQUAL CPACK_JIT_PROJECT_VERSION)
  message(FATAL_ERROR "jit: packaging/changelog's top entry is version "
    "${CPACK_JIT_CHANGELOG_VERSION}, the project is ${CPACK_JIT_PROJECT_VERSION}: "
    "add a changelog entry \"jit (${CPACK_JIT_PROJECT_VERSION}-1) ...\".")
endif()
