# The Debian package (Debian 12): cmake --build build --target package, or
# cd build && cpack -G DEB  ->  build/jit_<version>-<revision>_<arch>.deb
#
# The package is what `cmake --install` puts in /usr, plus the Debian
# documents below and the maintainer scripts in this directory. It enables
# nothing and never touches /etc/pam.d (README.Debian). Included from the
# top-level CMakeLists.txt after the install rules.

# Debian documents: copyright as it is, the changelog and manual pages
# compressed with gzip -9n (what lintian wants).
set(JIT_DEB_CHANGELOG ${CMAKE_SOURCE_DIR}/packaging/changelog)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND sh -c "gzip -9nc \"$1\" > \"$2\"" sh ${JIT_DEB_CHANGELOG}
    ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
  DEPENDS ${JIT_DEB_CHANGELOG} VERBATIM)
add_custom_target(deb_docs ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz)
install(FILES packaging/copyright packaging/README.Debian
  ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME jit)

# The version is the changelog's: its top entry must be this project
# version with a Debian revision, or cpack refuses (packaging/cpack-checks.cmake).
file(STRINGS ${JIT_DEB_CHANGELOG} jit_deb_top LIMIT_COUNT 1)
if(jit_deb_top MATCHES "^jit \\(([^)-]+)-([^)]+)\\) ")
  set(CPACK_JIT_CHANGELOG_VERSION ${CMAKE_MATCH_1})
  set(CPACK_DEBIAN_PACKAGE_RELEASE ${CMAKE_MATCH_2})
else()
  set(CPACK_JIT_CHANGELOG_VERSION "unreadable")
  set(CPACK_DEBIAN_PACKAGE_RELEASE 0)
endif()
set(CPACK_JIT_PROJECT_VERSION ${PROJECT_VERSION})
# pam_jit.so and the units' ExecStart= are placed at configure time: the
# package is right only for a tree configured with the prefix /usr.
set(CPACK_JIT_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/packaging/cpack-checks.cmake)

set(JIT_DEB_MAINTAINER "jit authors <jit@example.org>" CACHE STRING
  "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME jit)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${JIT_DEB_MAINTAINER})
set(CPACK_PACKAGE_VENDOR "the jit authors")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libc6, libpam0g, libsodium23, libcjson1, libsystemd0 with their versions;
# gpasswd (passwd) is run, not linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "sudo, openssh-server, etcd-client, openssl")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "just-in-time privileged access for sudo and ssh")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Nobody holds a privileged group by default: pam_jit, in the PAM account
phase of sudo or sshd, asks a local root service whether the user may have
the role now. A policy decides at once (pre-approved templates, live
context), or a named approver signs a decision with their own key. A grant
is a time-boxed membership of a Unix group, taken away at expiry by a
systemd timer; everything is logged to journald and to a hash-chained
audit log.
.
This package enables nothing: the policy, the sudoers and PAM lines and
the units are the administrator's steps (README.Debian).")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/postinst
  ${CMAKE_SOURCE_DIR}/packaging/prerm
  ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
