/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of the module's own bindgen step (see Kbuild): the headers that the kernel
 * crate does not bind, and the prototypes of our C helpers.
 */
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include "helpers.h"
