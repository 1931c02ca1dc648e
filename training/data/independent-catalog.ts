/**
 * The independent evaluation set: colour photographs from Debian wallpaper collections that no
 * training set uses. Training takes only plasma-workspace-wallpapers and mate-backgrounds among
 * wallpaper packages (and educational or test-image packages); every other collection is reserved
 * for evaluation: models are never trained or tuned on it, only scored.
 *
 * Chosen by looking at every image of each package (2026-12-07). The same rules as the colorize
 * catalog: colour photographs only, no renders, illustrations, 3D or vector art, abstract
 * textures, astronomy, or black-and-white (or nearly grey) photos.
 */
import type { TaggedPhotos } from './colorize-catalog.ts';

/** Every wallpaper collection looked at for this set, and why its images are in or out. */
export const INDEPENDENT_REVIEWED: Readonly<Record<string, string>> = {
  'lomiri-wallpapers-16.04': 'photos (below); out: analogpattern (abstract texture), free (nearly grey), umang (render)',
  'lomiri-wallpapers-20.04': 'one photo, Kleiber; out: Fossa, Painting-Colors (renders), Infinite-Sea (astronomy composite)',
  'lomiri-wallpapers': 'one image, warty-final-ubuntu: a gradient render',
  'gnome-backgrounds': 'renders, vector art and patterns only (43.1)',
  'ukui-wallpapers': 'renders and illustrations only',
  'sway-backgrounds': 'the sway logo on a flat render',
  'desktop-base': "Debian's themes: vector art, logos and screenshots",
  'xfdesktop4-data': 'Xfce backgrounds: renders with the Xfce mouse',
  'lxde-common': 'LXDE wallpapers: renders with the LXDE logo',
};

/** Package → its photos (file names under usr/share/backgrounds) with what they show. */
export const INDEPENDENT_PHOTOS: Readonly<Record<string, TaggedPhotos>> = {
  'lomiri-wallpapers-16.04': {
    'Bridge_by_Sander_Klootwijk.jpg': ['sky', 'water', 'objects'],
    'Dragonfly_by_Bolly.jpg': ['vegetation', 'sky', 'animals'],
    'Picture_0B_by_freespace.jpg': ['objects', 'stone'],
    'Picture_1A_by_freespace.jpg': ['objects'],
    'Wine_by_Jakkub_Mede.jpg': ['objects'],
    'aitzgorri_by_Aitzol_Berasategi.jpg': ['stone', 'vegetation', 'sky'],
    'friends_by_Aitzol_Berasategi.jpg': ['animals', 'buildings'],
    'greentock_by_Peter_Nerlich.jpg': ['objects'],
    'life_by_Aitzol_Berasategi.jpg': ['water', 'stone', 'vegetation'],
    'picosdeeuropa_by_Aitzol_Berasategi.jpg': ['stone', 'sky', 'vegetation'],
    'seeding_by_Clements_Engelhardt.jpg': ['vegetation'],
    'sunset_by_Aitzol_Berasategi.jpg': ['sky', 'vegetation', 'stone'],
  },
  'lomiri-wallpapers-20.04': {
    'Kleiber_by_Lukas_Baubkus.jpg': ['animals', 'vegetation'],
  },
};
