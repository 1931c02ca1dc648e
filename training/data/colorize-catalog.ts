/**
 * The colorize data set's photos, per Debian package, chosen by looking at every candidate image
 * (contact sheets of each package, 2026-12-07). Rules:
 *
 * - colour photographs only: no renders, illustrations, paintings, screenshots, synthetic test
 *   patterns, astronomical images, microscopy, or black-and-white photos;
 * - only the two wallpaper packages the issue allows (plasma-workspace-wallpapers,
 *   mate-backgrounds); every other wallpaper collection and renpy-demo stay unseen, for
 *   independent evaluation;
 * - photos whose licence is unclear are left out even when they are photos (OpenCV's messi5,
 *   the Middlebury stereo images motorcycle_left and rubberwhale).
 *
 * Each photo is tagged with what it shows, so the builder can report the set's balance. Whole
 * photos are held out (COLORIZE_HELD_OUT): landscapes, a town street and a street with people.
 */

/** What a photo shows; a photo has every tag that covers a noticeable part of it. */
export const SCENE_TAGS = ['sky', 'vegetation', 'water', 'stone', 'buildings', 'people', 'animals', 'objects'] as const;
export type SceneTag = (typeof SCENE_TAGS)[number];

/** Photo name (file stem, wallpaper or resource name) → tags. */
export type TaggedPhotos = Readonly<Record<string, readonly SceneTag[]>>;

/**
 * plasma-workspace-wallpapers 5.27: the photographs of photo2anime's list except Grey, a
 * black-and-white photo. The rest of the package is abstract or rendered.
 */
export const PLASMA_PHOTOS: TaggedPhotos = {
  BytheWater: ['sky', 'water', 'objects'],
  ColdRipple: ['sky', 'water'],
  ColorfulCups: ['objects'],
  DarkestHour: ['sky', 'water'],
  EveningGlow: ['sky', 'water', 'stone', 'objects'],
  FallenLeaf: ['vegetation'],
  Kite: ['sky'],
  OneStandsOut: ['vegetation'],
  Path: ['vegetation'],
  summer_1am: ['sky', 'water', 'vegetation'],
};

/** mate-backgrounds 1.26: `nature/`, all photographs (`abstract/`, `desktop/` are renders). */
export const MATE_PHOTOS: TaggedPhotos = {
  Aqua: ['water'],
  Blinds: ['vegetation'],
  Dune: ['vegetation', 'sky', 'water'],
  FreshFlower: ['vegetation'],
  Garden: ['vegetation'],
  GreenMeadow: ['vegetation'],
  LadyBird: ['vegetation', 'animals'],
  RainDrops: ['vegetation', 'water'],
  Storm: ['sky'],
  TwoWings: ['vegetation'],
  Wood: ['objects'],
  YellowFlower: ['vegetation'],
};

/** tuxpaint-data (Tux Paint, drawing for children): every template is a photo by Bill Kendrick. */
export const TUXPAINT_TEMPLATES: TaggedPhotos = {
  burnt_bark: ['vegetation'],
  cliff: ['stone', 'sky', 'vegetation'],
  corn_maze: ['vegetation'],
  jellyfish: ['water', 'animals'],
  lighthouse: ['buildings', 'sky'],
  mossy_bark: ['vegetation'],
  mossy_log: ['vegetation'],
  mudstone: ['stone'],
  ocean_splash: ['water'],
  ocean_waves: ['water'],
  redwoods_above: ['vegetation', 'sky'],
  rocks: ['stone'],
  sheep: ['vegetation', 'sky', 'animals'],
  spiders_web: ['vegetation'],
  sun_behind_clouds: ['sky'],
  sun_behind_leaves: ['vegetation'],
  trees_above: ['vegetation', 'sky'],
  trees_at_dusk: ['vegetation', 'sky'],
  wool_mill_machine: ['objects'],
};

/** Tux Paint starters with a photo background (NOAA, public domain per AUTHORS.txt); the rest are drawings. */
export const TUXPAINT_STARTERS: TaggedPhotos = {
  'reef-back': ['water', 'animals'],
  'skyline-sf-dusk-back': ['sky', 'water', 'buildings'],
};

/**
 * tuxtype-data (Tux Typing): the cascade backgrounds `kcas*.jpg` (landscapes; README_IMAGES.TXT:
 * featured images from Wikimedia Commons) and `hidden.jpg`. `backgrounds/` are space images.
 */
export const TUXTYPE_PHOTOS: TaggedPhotos = {
  kcas0: ['water', 'sky', 'stone'],
  kcas1: ['water', 'stone', 'sky'],
  kcas2: ['stone', 'water', 'sky', 'vegetation'],
  kcas3: ['water', 'stone', 'sky'],
  kcas4: ['water', 'vegetation', 'stone', 'sky'],
  kcas5: ['water', 'stone', 'sky'],
  kcas6: ['stone', 'sky', 'vegetation'],
  kcas7: ['water', 'stone', 'sky'],
  kcas8: ['water', 'stone'],
  kcas9: ['stone', 'water', 'sky'],
  kcas10: ['stone'],
  kcas11: ['vegetation', 'water'],
  hidden: ['people', 'animals'],
};

/**
 * gcompris-qt-data (GCompris, educational activities): the photos inside three activities'
 * resource files, by path under `resource/`. Each folder's README gives author, licence and
 * source per photo (public domain, CC0 or CC-BY-SA). Left out: usa/castleClinton (black and
 * white); `erase` (close-up animal portraits, which the two animal sets already cover); `lang`,
 * `categorization`, `details` (illustrations, or paintings).
 */
export const GCOMPRIS_PHOTOS: Readonly<Record<string, TaggedPhotos>> = {
  explore_monuments: {
    'egypt/bentPyramid': ['stone', 'sky'],
    'egypt/greatPyramidOfGiza': ['stone', 'sky'],
    'egypt/meidumPyramid': ['stone', 'sky'],
    'egypt/redPyramid': ['stone', 'sky'],
    'france/arlesAmphitheater': ['buildings', 'stone', 'sky'],
    'france/chateaudeChambord': ['buildings', 'sky', 'vegetation'],
    'france/chateaudeChenonceau': ['buildings', 'water', 'sky', 'vegetation'],
    'france/citedeCarcassonne': ['buildings', 'stone', 'vegetation', 'sky'],
    'france/eiffelTower': ['buildings', 'sky', 'vegetation'],
    'france/montStMichel': ['buildings', 'sky', 'vegetation'],
    'france/palaisdesPapes': ['buildings', 'stone', 'sky'],
    'france/pontduGard': ['buildings', 'stone', 'vegetation', 'sky'],
    'france/reimsCathedral': ['buildings', 'sky'],
    'france/rocamadour': ['buildings', 'stone', 'vegetation', 'sky'],
    'germany/aulaPalatina': ['buildings', 'sky', 'vegetation'],
    'germany/berlinCathedral': ['buildings', 'sky'],
    'germany/brandenburgGate': ['buildings', 'sky'],
    'germany/neuschwansteinCastle': ['buildings', 'vegetation', 'sky'],
    'germany/schwerinPalace': ['buildings', 'water', 'sky', 'vegetation'],
    'germany/trierImperialBaths': ['buildings', 'stone', 'vegetation', 'sky'],
    'germany/wormsCathedral': ['buildings', 'vegetation', 'sky'],
    'india/ajantaCave': ['stone', 'vegetation', 'sky'],
    'india/charminar': ['buildings', 'sky'],
    'india/gatewayofIndia': ['buildings', 'sky', 'vegetation'],
    'india/goldenTemple': ['buildings', 'water', 'sky'],
    'india/greatStupa': ['buildings', 'stone', 'sky'],
    'india/hawaMahal': ['buildings'],
    'india/konarkSunTemple': ['buildings', 'stone', 'sky'],
    'india/mysorePalace': ['buildings', 'sky', 'vegetation'],
    'india/qutubMinar': ['buildings', 'stone', 'sky'],
    'india/rangGhar': ['buildings', 'vegetation', 'sky'],
    'india/victoriaMemorial': ['buildings', 'vegetation', 'sky'],
    'usa/cabrillo': ['stone', 'sky'],
    'usa/canyondeChelly': ['stone', 'vegetation', 'water', 'sky'],
    'usa/castillodeSanMarcos': ['buildings', 'vegetation', 'water'],
    'usa/fortSumter': ['buildings', 'stone', 'vegetation', 'water', 'sky'],
    'usa/georgeWashingtonBirthplace': ['buildings', 'vegetation'],
    'usa/lincolnMemorial': ['buildings', 'sky'],
    'usa/mountRushmore': ['stone', 'sky', 'vegetation'],
    'usa/navajo': ['stone'],
    'usa/statueofLiberty': ['buildings', 'sky'],
    'wonders/chichenItza': ['stone', 'buildings', 'sky', 'vegetation'],
    'wonders/christTheRedeemer': ['sky', 'buildings', 'vegetation', 'water'],
    'wonders/colosseum': ['buildings', 'stone', 'sky', 'vegetation'],
    'wonders/greatWallofChina': ['stone', 'vegetation', 'sky', 'buildings'],
    'wonders/machuPicchu': ['stone', 'vegetation', 'sky', 'buildings'],
    'wonders/petra': ['stone', 'buildings'],
    'wonders/tajMahal': ['buildings', 'sky', 'vegetation', 'water'],
  },
  explore_world_animals: {
    'animals/bison': ['animals', 'vegetation'],
    'animals/chameleon': ['animals', 'vegetation'],
    'animals/crocodile': ['animals', 'stone'],
    'animals/dragon': ['animals', 'stone'],
    'animals/giraffe': ['animals', 'vegetation', 'sky'],
    'animals/hedgehog': ['animals', 'vegetation'],
    'animals/jaguar': ['animals', 'stone'],
    'animals/kangaroo': ['animals', 'vegetation'],
    'animals/koala': ['animals', 'vegetation'],
    'animals/lemur': ['animals', 'vegetation', 'stone'],
    'animals/moose': ['animals', 'vegetation'],
    'animals/narwhal': ['animals', 'water'],
    'animals/panda': ['animals', 'vegetation'],
    'animals/polar_bear': ['animals', 'water'],
    'animals/scarlet_macaw': ['animals'],
  },
  explore_farm_animals: {
    'animals/cat': ['animals', 'objects'],
    'animals/chicken': ['animals', 'vegetation'],
    'animals/cow': ['animals', 'vegetation'],
    'animals/dog': ['animals', 'vegetation'],
    'animals/duck': ['animals'],
    'animals/horse': ['animals', 'vegetation', 'sky'],
    'animals/owl': ['animals', 'vegetation'],
    'animals/pig': ['animals', 'vegetation'],
    'animals/sheep': ['animals', 'vegetation'],
  },
};

/**
 * stellarium-data: the landscapes photographed on Earth whose ground survives the cut-out sky as
 * a band at least 128 px tall, stored as frames of that band (stellarium-landscapes.ts; the tags
 * hold for every frame). Hurricane's textures fade out at the bottom too, so no row of it is
 * opaque; ocean is rendered, trees is a fisheye sky mask, the rest are other planets.
 */
export const STELLARIUM_LANDSCAPES: TaggedPhotos = {
  garching: ['vegetation'],
  grossmugl: ['vegetation'],
  guereins: ['vegetation'],
};

/**
 * opencv-doc: the photos of OpenCV's sample data (examples/data, alphamat, text). Left out:
 * drawings (HappyFish), renders (Blender_Suzanne, smarties), synthetic patterns (pic1-6),
 * paintings (starry_night, graf*), grey images, degraded ones (text_defocus,
 * licenseplate_motion), and those of unclear licence (messi5, rubberwhale, left/right stereo).
 */
export const OPENCV_PHOTOS: TaggedPhotos = {
  'data/aero1.jpg': ['buildings', 'vegetation', 'water'],
  'data/aero3.jpg': ['buildings', 'vegetation', 'water'],
  'data/aloeL.jpg': ['vegetation', 'objects'],
  'data/apple.jpg': ['objects'],
  'data/baboon.jpg': ['animals'],
  'data/board.jpg': ['objects'],
  'data/building.jpg': ['buildings', 'sky', 'vegetation'],
  'data/butterfly.jpg': ['animals', 'vegetation'],
  'data/fruits.jpg': ['objects'],
  'data/home.jpg': ['buildings', 'sky'],
  'data/leuvenA.jpg': ['buildings', 'sky', 'stone'],
  'data/orange.jpg': ['objects'],
  'data/squirrel_cls.jpg': ['animals', 'vegetation'],
  'alphamat/input_images/plant.jpg': ['vegetation', 'objects'],
  'text/scenetext01.jpg': ['people', 'buildings', 'vegetation', 'objects'],
  'text/scenetext02.jpg': ['vegetation', 'objects'],
  'text/scenetext03.jpg': ['buildings', 'vegetation'],
  'text/scenetext04.jpg': ['buildings', 'vegetation', 'sky'],
  'text/scenetext05.jpg': ['stone', 'objects'],
  'text/scenetext06.jpg': ['buildings', 'sky'],
};

/** python3-skimage: its colour photographs (CC0 or public domain, per skimage/data/_fetchers.py). */
export const SKIMAGE_PHOTOS: TaggedPhotos = {
  'astronaut.png': ['people', 'objects'],
  'chelsea.png': ['animals'],
  'coffee.png': ['objects'],
  'rocket.jpg': ['sky', 'objects'],
};

/** python-matplotlib-data: sample_data/grace_hopper.jpg (US Navy, public domain). */
export const MATPLOTLIB_PHOTOS: TaggedPhotos = { 'grace_hopper.jpg': ['people'] };

/** python3-sklearn: datasets/images (CC-BY-2.0 per their README.txt). */
export const SKLEARN_PHOTOS: TaggedPhotos = {
  'china.jpg': ['buildings', 'vegetation', 'water', 'sky'],
  'flower.jpg': ['vegetation'],
};

/** palapeli-data (jigsaw puzzles): the collection's five photos; authors in their .desktop files. */
export const PALAPELI_PHOTOS: TaggedPhotos = {
  'castle-maintenon': ['buildings', 'sky', 'vegetation'],
  'cincinnati-bridge': ['buildings', 'water', 'sky'],
  'citrus-fruits': ['objects'],
  'european-honey-bee': ['animals', 'vegetation'],
  'panther-chameleon-female': ['animals', 'vegetation'],
};

/** digikam-data (photo manager): the about page's background photo. Everything else is theme art. */
export const DIGIKAM_PHOTOS: TaggedPhotos = { 'about/images/body-background.jpg': ['sky', 'water', 'vegetation', 'stone'] };

/**
 * scribus-template: the photos of Riku Leino's templates, which he placed in the public domain
 * (br2 nature and sunset, menu2 pizza). The moon and eclipse photos are near black and white.
 */
export const SCRIBUS_PHOTOS: TaggedPhotos = {
  'br2/nature.jpg': ['stone', 'vegetation', 'water'],
  'br2/sunset.jpg': ['sky', 'water', 'buildings'],
  'menu2/pizza.jpg': ['objects'],
};

/**
 * Held out whole, by output name: six landscape-rich scenes (a mountain lake, a meadow with sheep,
 * a pagoda over a lake, a lake valley, the Great Wall in green hills, a town street) and a street
 * with people.
 */
export const COLORIZE_HELD_OUT = [
  'tuxtype-kcas4',
  'tuxpaint-sheep',
  'sklearn-china',
  'digikam-body-background',
  'gcompris-greatWallofChina',
  'opencv-leuvenA',
  'opencv-scenetext01',
] as const;
